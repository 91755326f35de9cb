/*-------------------------------------------------------------------------
 *
 * plaintext.h
 *		Which SQL types a value may be encrypted from, and their type codes
 *
 * IDENTIFICATION
 *		src/plaintext.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_PLAINTEXT_H
#define EF_PLAINTEXT_H

extern uint8 PlaintextTypeCode(Oid typid);
extern Oid	PlaintextTypeOid(uint8 type_code);

#endif							/* EF_PLAINTEXT_H */
