/*-------------------------------------------------------------------------
 *
 * key_channel.h
 *		Master keys given at connection start: encrypted_field.keys
 *
 * Copyright (c) 2026, The encrypted_field Authors
 *
 * IDENTIFICATION
 *		src/key_channel.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EF_KEY_CHANNEL_H
#define EF_KEY_CHANNEL_H

extern void KeyChannelDefine(bool loaded_by_statement);
extern bool KeyChannelRefused(void);

#endif							/* EF_KEY_CHANNEL_H */
