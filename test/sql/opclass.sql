-- Operator classes and statistics: amvalidate and the checks of
-- PostgreSQL's own opr_sanity and type_sanity tests, restricted to the
-- extension's objects (every query below should find nothing); ANALYZE of
-- arrays, domains, arrays of domains, composites and extended statistics
-- holding values with and without a term; hash partitioning on a searchable
-- column; columns of terms; and the error user queries still get for values
-- that are not searchable.

-- **************** the extension's objects ****************

CREATE TEMP VIEW ef_member AS
	SELECT d.classid, d.objid FROM pg_depend d JOIN pg_extension x ON x.oid = d.refobjid
	WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND x.extname = 'encrypted_field';
CREATE TEMP VIEW ef_proc AS
	SELECT * FROM pg_proc WHERE oid IN (SELECT objid FROM ef_member WHERE classid = 'pg_proc'::regclass);
CREATE TEMP VIEW ef_operator AS
	SELECT * FROM pg_operator WHERE oid IN (SELECT objid FROM ef_member WHERE classid = 'pg_operator'::regclass);
CREATE TEMP VIEW ef_opfamily AS
	SELECT * FROM pg_opfamily WHERE oid IN (SELECT objid FROM ef_member WHERE classid = 'pg_opfamily'::regclass);
CREATE TEMP VIEW ef_opclass AS
	SELECT * FROM pg_opclass WHERE oid IN (SELECT objid FROM ef_member WHERE classid = 'pg_opclass'::regclass);
CREATE TEMP VIEW ef_amop AS SELECT * FROM pg_amop WHERE amopfamily IN (SELECT oid FROM ef_opfamily);
CREATE TEMP VIEW ef_amproc AS SELECT * FROM pg_amproc WHERE amprocfamily IN (SELECT oid FROM ef_opfamily);
-- the types and their array types; not the row types of the extension's
-- tables, which PostgreSQL 17 and later list as members too
CREATE TEMP VIEW ef_type AS
	SELECT * FROM pg_type t
	WHERE (oid IN (SELECT objid FROM ef_member WHERE classid = 'pg_type'::regclass)
		   OR typelem IN (SELECT objid FROM ef_member WHERE classid = 'pg_type'::regclass))
	  AND NOT EXISTS (SELECT FROM pg_class c
					  WHERE c.reltype <> 0 AND c.reltype IN (t.oid, t.typelem) AND c.relkind <> 'c');
SELECT (SELECT count(*) FROM ef_operator) AS operators,
	(SELECT count(*) FROM ef_opfamily) AS families, (SELECT count(*) FROM ef_opclass) AS classes,
	(SELECT count(*) FROM ef_amop) AS family_operators, (SELECT count(*) FROM ef_amproc) AS family_functions,
	(SELECT string_agg(typname, ', ' ORDER BY typname) FROM ef_type) AS types;

-- **************** amvalidate ****************

-- true for every class, with no INFO message
SELECT a.amname, c.opcname, c.opcintype::regtype, c.opcdefault, f.opfname, amvalidate(c.oid)
FROM ef_opclass c JOIN pg_am a ON a.oid = c.opcmethod JOIN pg_opfamily f ON f.oid = c.opcfamily
ORDER BY 1, 2;

-- each family holds every operator and support function for each pair of
-- encrypted_field and encrypted_field_term, both ways
SELECT a.amname, l.typname AS lefttype, r.typname AS righttype,
	(SELECT string_agg(amopstrategy || ' ' || oprname, ', ' ORDER BY amopstrategy)
	 FROM ef_amop JOIN pg_operator o ON o.oid = amopopr
	 WHERE amopfamily = f.oid AND amoplefttype = l.oid AND amoprighttype = r.oid) AS operators,
	(SELECT string_agg(amprocnum || ' ' || amproc::regproc, ', ' ORDER BY amprocnum)
	 FROM ef_amproc WHERE amprocfamily = f.oid AND amproclefttype = l.oid AND amprocrighttype = r.oid) AS functions
FROM ef_opfamily f JOIN pg_am a ON a.oid = f.opfmethod,
	pg_type l, pg_type r
WHERE l.typname IN ('encrypted_field', 'encrypted_field_term') AND r.typname IN ('encrypted_field', 'encrypted_field_term')
ORDER BY 1, 2, 3;

-- **************** opr_sanity: pg_proc ****************

-- illegal values
SELECT p1.oid, p1.proname
FROM ef_proc as p1
WHERE p1.prolang = 0 OR p1.prorettype = 0 OR
       p1.pronargs < 0 OR
       p1.pronargdefaults < 0 OR
       p1.pronargdefaults > p1.pronargs OR
       array_lower(p1.proargtypes, 1) != 0 OR
       array_upper(p1.proargtypes, 1) != p1.pronargs-1 OR
       0::oid = ANY (p1.proargtypes) OR
       procost <= 0 OR
       CASE WHEN proretset THEN prorows <= 0 ELSE prorows != 0 END OR
       prokind NOT IN ('f', 'a', 'w', 'p') OR
       provolatile NOT IN ('i', 's', 'v') OR
       proparallel NOT IN ('s', 'r', 'u');
SELECT p1.oid, p1.proname FROM ef_proc as p1 WHERE prosrc IS NULL;
SELECT p1.oid, p1.proname FROM ef_proc as p1 WHERE (prosrc = '' OR prosrc = '-') AND prosqlbody IS NULL;
SELECT p1.oid, p1.proname FROM ef_proc AS p1 WHERE proretset AND prokind != 'f';
-- no function is SECURITY DEFINER
SELECT p1.oid, p1.proname FROM ef_proc AS p1 WHERE prosecdef;
SELECT p1.oid, p1.proname FROM ef_proc AS p1 WHERE (pronargdefaults <> 0) != (proargdefaults IS NOT NULL);
-- probin is set for C functions, and only for them
SELECT p1.oid, p1.proname
FROM ef_proc as p1
WHERE prolang = 13 AND (probin IS NULL OR probin = '' OR probin = '-');
SELECT p1.oid, p1.proname
FROM ef_proc as p1
WHERE prolang != 13 AND probin IS NOT NULL;
-- a function returning internal must take internal, or SQL could call it
SELECT p1.oid, p1.proname
FROM ef_proc as p1
WHERE p1.prorettype = 'internal'::regtype AND NOT 'internal'::regtype = ANY (p1.proargtypes);
-- a polymorphic result needs a polymorphic argument to be resolved
SELECT p1.oid, p1.proname
FROM ef_proc as p1
WHERE p1.prorettype IN ('anyelement'::regtype, 'anyarray'::regtype, 'anynonarray'::regtype, 'anyenum'::regtype)
  AND NOT ('anyelement'::regtype = ANY (p1.proargtypes) OR 'anyarray'::regtype = ANY (p1.proargtypes) OR
           'anynonarray'::regtype = ANY (p1.proargtypes) OR 'anyenum'::regtype = ANY (p1.proargtypes) OR
           'anyrange'::regtype = ANY (p1.proargtypes) OR 'anymultirange'::regtype = ANY (p1.proargtypes));
-- cstring only in and out of type I/O functions
SELECT p1.oid, p1.proname
FROM ef_proc as p1
WHERE 'cstring'::regtype = ANY (p1.proargtypes)
    AND NOT EXISTS(SELECT 1 FROM pg_type WHERE typinput = p1.oid)
    AND NOT EXISTS(SELECT 1 FROM pg_conversion WHERE conproc = p1.oid);
SELECT p1.oid, p1.proname
FROM ef_proc as p1
WHERE p1.prorettype = 'cstring'::regtype
    AND NOT EXISTS(SELECT 1 FROM pg_type WHERE typoutput = p1.oid)
    AND NOT EXISTS(SELECT 1 FROM pg_type WHERE typmodout = p1.oid);
-- the argument-info arrays agree in length and with proargtypes
SELECT p1.oid, p1.proname
FROM ef_proc as p1
WHERE (proallargtypes IS NOT NULL AND array_length(proallargtypes,1) < array_length(proargtypes,1))
   OR (proargmodes IS NOT NULL AND array_length(proargmodes,1) < array_length(proargtypes,1))
   OR (proargnames IS NOT NULL AND array_length(proargnames,1) < array_length(proargtypes,1))
   OR (proallargtypes IS NOT NULL AND proargmodes IS NOT NULL AND
       array_length(proallargtypes,1) <> array_length(proargmodes,1))
   OR (proallargtypes IS NOT NULL AND proargnames IS NOT NULL AND
       array_length(proallargtypes,1) <> array_length(proargnames,1))
   OR (proargmodes IS NOT NULL AND proargnames IS NOT NULL AND
       array_length(proargmodes,1) <> array_length(proargnames,1));
SELECT p1.oid, p1.proname, p1.proargtypes, p1.proallargtypes, p1.proargmodes
FROM ef_proc as p1
WHERE proallargtypes IS NOT NULL AND
  ARRAY(SELECT unnest(proargtypes)) <>
  ARRAY(SELECT proallargtypes[i]
        FROM generate_series(1, array_length(proallargtypes, 1)) g(i)
        WHERE proargmodes IS NULL OR proargmodes[i] IN ('i', 'b', 'v'));
SELECT oid::regprocedure, proargmodes, provariadic
FROM ef_proc
WHERE (proargmodes IS NOT NULL AND 'v' = any(proargmodes)) IS DISTINCT FROM (provariadic != 0);
-- every function has a description
SELECT p1.oid, p1.proname
FROM ef_proc as p1 LEFT JOIN pg_description as d
     ON d.classoid = 'pg_proc'::regclass and p1.oid = d.objoid and d.objsubid = 0
WHERE d.classoid IS NULL;
-- immutable functions are parallel safe
SELECT p1.oid, p1.proname FROM ef_proc AS p1 WHERE provolatile = 'i' AND proparallel = 'u';

-- **************** opr_sanity: pg_operator ****************

-- illegal values, missing or unwanted operand types
SELECT o1.oid, o1.oprname
FROM ef_operator as o1
WHERE (o1.oprkind != 'b' AND o1.oprkind != 'l') OR o1.oprresult = 0 OR o1.oprcode = 0
   OR (o1.oprleft = 0 and o1.oprkind != 'l') OR (o1.oprleft != 0 and o1.oprkind = 'l') OR o1.oprright = 0;
-- commutators that do not commute
SELECT o1.oid, o1.oprcode, o2.oid, o2.oprcode
FROM ef_operator AS o1, pg_operator AS o2
WHERE o1.oprcom = o2.oid AND
    (o1.oprkind != 'b' OR
     o1.oprleft != o2.oprright OR
     o1.oprright != o2.oprleft OR
     o1.oprresult != o2.oprresult OR
     o1.oid != o2.oprcom);
-- negators that do not agree
SELECT o1.oid, o1.oprcode, o2.oid, o2.oprcode
FROM ef_operator AS o1, pg_operator AS o2
WHERE o1.oprnegate = o2.oid AND
    (o1.oprkind != o2.oprkind OR
     o1.oprleft != o2.oprleft OR
     o1.oprright != o2.oprright OR
     o1.oprresult != 'bool'::regtype OR
     o2.oprresult != 'bool'::regtype OR
     o1.oid != o2.oprnegate OR
     o1.oid = o2.oid);
-- every operator has its commutator and its negator, and they are the
-- expected ones (opr_sanity lists the pairs)
SELECT o1.oid::regoperator, o1.oprcom::regoperator, o1.oprnegate::regoperator
FROM ef_operator o1 LEFT JOIN pg_operator c ON c.oid = o1.oprcom LEFT JOIN pg_operator n ON n.oid = o1.oprnegate
WHERE (o1.oprname, c.oprname, n.oprname) NOT IN (('=', '=', '<>'), ('<>', '<>', '='), ('<', '>', '>='),
	('<=', '>=', '>'), ('>', '<', '<='), ('>=', '<=', '<'))
   OR c.oprname IS NULL OR n.oprname IS NULL;
-- a mergejoinable or hashjoinable operator is binary, boolean, with a
-- commutator that is so too
SELECT o1.oid, o1.oprname FROM ef_operator AS o1
WHERE (o1.oprcanmerge OR o1.oprcanhash) AND NOT
    (o1.oprkind = 'b' AND o1.oprresult = 'bool'::regtype AND o1.oprcom != 0);
SELECT o1.oid, o1.oprname, o2.oid, o2.oprname
FROM ef_operator AS o1, pg_operator AS o2
WHERE o1.oprcom = o2.oid AND
    (o1.oprcanmerge != o2.oprcanmerge OR
     o1.oprcanhash != o2.oprcanhash);
-- mergejoinable operators are the btree families' equality and hashable
-- ones the hash families' members, and the converse (opr_sanity's four
-- queries, two by two)
SELECT o1.oid, o1.oprname, m.amname
FROM ef_operator AS o1, (VALUES ('btree', 3), ('hash', 1)) m(amname, strategy)
WHERE CASE m.amname WHEN 'btree' THEN o1.oprcanmerge ELSE o1.oprcanhash END AND NOT EXISTS
  (SELECT 1 FROM pg_amop
   WHERE amopmethod = (SELECT oid FROM pg_am WHERE amname = m.amname) AND
         amopopr = o1.oid AND amopstrategy = m.strategy);
SELECT o1.oid, o1.oprname, p.amopfamily
FROM pg_operator AS o1, ef_amop p, pg_am am
WHERE amopopr = o1.oid AND am.oid = p.amopmethod
  AND ((am.amname = 'btree' AND amopstrategy = 3 AND NOT o1.oprcanmerge)
       OR (am.amname = 'hash' AND NOT o1.oprcanhash));
-- each operator matches its function (opr_sanity allows binary-coercible
-- types, through a function of its own test library; these are exact)
SELECT o1.oid, o1.oprname, p1.oid, p1.proname
FROM ef_operator AS o1, pg_proc AS p1
WHERE o1.oprcode = p1.oid AND
    o1.oprkind = 'b' AND
    (p1.pronargs != 2
     OR p1.prorettype != o1.oprresult
     OR o1.oprleft != p1.proargtypes[0]
     OR o1.oprright != p1.proargtypes[1]);
SELECT o1.oid, o1.oprname, p1.oid, p1.proname
FROM ef_operator AS o1, pg_proc AS p1
WHERE o1.oprcode = p1.oid AND
    (o1.oprcanmerge OR o1.oprcanhash) AND
    p1.provolatile = 'v';
-- the estimators have the right signatures
SELECT o1.oid, o1.oprname, p2.oid, p2.proname
FROM ef_operator AS o1, pg_proc AS p2
WHERE o1.oprrest = p2.oid AND
    (o1.oprresult != 'bool'::regtype OR
     p2.prorettype != 'float8'::regtype OR p2.proretset OR
     p2.pronargs != 4 OR
     p2.proargtypes[0] != 'internal'::regtype OR
     p2.proargtypes[1] != 'oid'::regtype OR
     p2.proargtypes[2] != 'internal'::regtype OR
     p2.proargtypes[3] != 'int4'::regtype);
SELECT o1.oid, o1.oprname, p2.oid, p2.proname
FROM ef_operator AS o1, pg_proc AS p2
WHERE o1.oprjoin = p2.oid AND
    (o1.oprkind != 'b' OR o1.oprresult != 'bool'::regtype OR
     p2.prorettype != 'float8'::regtype OR p2.proretset OR
     p2.pronargs != 5 OR
     p2.proargtypes[0] != 'internal'::regtype OR
     p2.proargtypes[1] != 'oid'::regtype OR
     p2.proargtypes[2] != 'internal'::regtype OR
     p2.proargtypes[3] != 'int2'::regtype OR
     p2.proargtypes[4] != 'internal'::regtype);
-- every operator has a description, and its function says it implements it
SELECT o1.oid, o1.oprname
FROM ef_operator as o1 LEFT JOIN pg_description as d
     ON d.classoid = 'pg_operator'::regclass and o1.oid = d.objoid and d.objsubid = 0
WHERE d.classoid IS NULL;
WITH funcdescs AS (
  SELECT p.oid as p_oid, proname, o.oid as o_oid,
    pd.description as prodesc,
    'implementation of ' || oprname || ' operator' as expecteddesc,
    od.description as oprdesc
  FROM pg_proc p JOIN ef_operator o ON oprcode = p.oid
       LEFT JOIN pg_description pd ON
         (pd.objoid = p.oid and pd.classoid = p.tableoid and pd.objsubid = 0)
       LEFT JOIN pg_description od ON
         (od.objoid = o.oid and od.classoid = 'pg_operator'::regclass and od.objsubid = 0)
)
SELECT * FROM funcdescs
  WHERE prodesc IS DISTINCT FROM expecteddesc
    AND prodesc IS DISTINCT FROM oprdesc;
-- commutator and negator pairs have alike functions
SELECT o1.oid, o1.oprcode, o2.oid, o2.oprcode
FROM ef_operator AS o1, pg_operator AS o2, pg_proc AS p1, pg_proc AS p2
WHERE (o1.oprcom = o2.oid OR o1.oprnegate = o2.oid) AND p1.oid = o1.oprcode AND p2.oid = o2.oprcode AND
    (p1.provolatile != p2.provolatile OR
     p1.proleakproof != p2.proleakproof);
-- btree operators' functions are marked as their comparison function is
SELECT pp.oid::regprocedure as proc, pp.provolatile as vp, pp.proleakproof as lp,
       po.oid::regprocedure as opr, po.provolatile as vo, po.proleakproof as lo
FROM pg_proc pp, pg_proc po, pg_operator o, ef_amproc ap, ef_amop ao
WHERE pp.oid = ap.amproc AND po.oid = o.oprcode AND o.oid = ao.amopopr AND
    ao.amopmethod = (SELECT oid FROM pg_am WHERE amname = 'btree') AND
    ao.amopfamily = ap.amprocfamily AND
    ao.amoplefttype = ap.amproclefttype AND
    ao.amoprighttype = ap.amprocrighttype AND
    ap.amprocnum = 1 AND
    (pp.provolatile != po.provolatile OR
     pp.proleakproof != po.proleakproof);

-- **************** opr_sanity: pg_opfamily, pg_opclass ****************

SELECT f.oid FROM ef_opfamily as f WHERE f.opfmethod = 0 OR f.opfnamespace = 0;
-- no family without a class
SELECT oid, opfname FROM ef_opfamily f WHERE NOT EXISTS (SELECT 1 FROM pg_opclass WHERE opcfamily = f.oid);
SELECT c1.oid
FROM ef_opclass AS c1
WHERE c1.opcmethod = 0 OR c1.opcnamespace = 0 OR c1.opcfamily = 0 OR c1.opcintype = 0;
SELECT c1.oid, f1.oid
FROM ef_opclass AS c1, pg_opfamily AS f1
WHERE c1.opcfamily = f1.oid AND c1.opcmethod != f1.opfmethod;
-- one default class per access method and type
SELECT c1.oid, c2.oid
FROM ef_opclass AS c1, pg_opclass AS c2
WHERE c1.oid != c2.oid AND
    c1.opcmethod = c2.opcmethod AND c1.opcintype = c2.opcintype AND
    c1.opcdefault AND c2.opcdefault;
SELECT oid, opcname FROM ef_opclass WHERE NOT amvalidate(oid);
-- every class and family has a description
SELECT c.oid, c.opcname FROM ef_opclass c
WHERE obj_description(c.oid, 'pg_opclass') IS NULL;
SELECT f.oid, f.opfname FROM ef_opfamily f
WHERE obj_description(f.oid, 'pg_opfamily') IS NULL;

-- **************** opr_sanity: pg_amop ****************

SELECT a1.amopfamily, a1.amopstrategy
FROM ef_amop as a1
WHERE a1.amopfamily = 0 OR a1.amoplefttype = 0 OR a1.amoprighttype = 0
    OR a1.amopopr = 0 OR a1.amopmethod = 0 OR a1.amopstrategy < 1;
SELECT a1.amopfamily, a1.amopstrategy
FROM ef_amop as a1
WHERE NOT ((a1.amoppurpose = 's' AND a1.amopsortfamily = 0) OR
           (a1.amoppurpose = 'o' AND a1.amopsortfamily <> 0));
SELECT a1.oid, f1.oid
FROM ef_amop AS a1, pg_opfamily AS f1
WHERE a1.amopfamily = f1.oid AND a1.amopmethod != f1.opfmethod;
-- each strategy holds the operator of its name (opr_sanity lists them)
SELECT am.amname, a1.amopstrategy, o1.oprname
FROM ef_amop a1 JOIN pg_operator o1 ON amopopr = o1.oid JOIN pg_am am ON am.oid = a1.amopmethod
WHERE (am.amname, a1.amopstrategy, o1.oprname) NOT IN (('btree', 1, '<'), ('btree', 2, '<='),
	('btree', 3, '='), ('btree', 4, '>='), ('btree', 5, '>'), ('hash', 1, '='));
-- search operators have selectivity estimators
SELECT a1.amopfamily, a1.amopopr, o1.oid, o1.oprname
FROM ef_amop AS a1, pg_operator AS o1
WHERE a1.amopopr = o1.oid AND a1.amoppurpose = 's' AND
    (o1.oprrest = 0 OR o1.oprjoin = 0);
-- each class has operators on its type, and each operator a class for its
-- left type (of that exact type, here)
SELECT c1.opcname, c1.opcfamily
FROM ef_opclass AS c1
WHERE NOT EXISTS(SELECT 1 FROM pg_amop AS a1
                 WHERE a1.amopfamily = c1.opcfamily
                   AND c1.opcintype = a1.amoplefttype);
SELECT a1.amopfamily, a1.amopstrategy, a1.amopopr
FROM ef_amop AS a1
WHERE NOT EXISTS(SELECT 1 FROM pg_opclass AS c1
                 WHERE c1.opcfamily = a1.amopfamily
                   AND c1.opcintype = a1.amoplefttype);
-- primary members immutable; cross-type members at least stable
SELECT a1.amopfamily, a1.amopopr, o1.oprname, p1.prosrc
FROM ef_amop AS a1, pg_operator AS o1, pg_proc AS p1
WHERE a1.amopopr = o1.oid AND o1.oprcode = p1.oid AND
    a1.amoplefttype = a1.amoprighttype AND
    p1.provolatile != 'i';
SELECT a1.amopfamily, a1.amopopr, o1.oprname, p1.prosrc
FROM ef_amop AS a1, pg_operator AS o1, pg_proc AS p1
WHERE a1.amopopr = o1.oid AND o1.oprcode = p1.oid AND
    a1.amoplefttype != a1.amoprighttype AND
    p1.provolatile = 'v';

-- **************** opr_sanity: pg_amproc ****************

SELECT a1.amprocfamily, a1.amprocnum
FROM ef_amproc as a1
WHERE a1.amprocfamily = 0 OR a1.amproclefttype = 0 OR a1.amprocrighttype = 0
    OR a1.amprocnum < 0 OR a1.amproc = 0;
SELECT a1.amprocfamily, a1.amproc, p1.prosrc
FROM ef_amproc AS a1, pg_proc AS p1
WHERE a1.amproc = p1.oid AND
    a1.amproclefttype = a1.amprocrighttype AND
    p1.provolatile != 'i';
SELECT a1.amprocfamily, a1.amproc, p1.prosrc
FROM ef_amproc AS a1, pg_proc AS p1
WHERE a1.amproc = p1.oid AND
    a1.amproclefttype != a1.amprocrighttype AND
    p1.provolatile = 'v';
-- btree deduplication (equalimage, support function 4): for terms, whose
-- equality is that of their bytes; never for values, as two values with
-- the same term have different envelopes and an index-only scan must
-- return each row's own
SELECT opc.opcname, opc.opcintype::regtype, amp.amproc::regproc
FROM ef_opclass AS opc JOIN pg_am AS am ON am.oid = opc.opcmethod
LEFT JOIN pg_amproc AS amp ON amp.amprocfamily = opc.opcfamily AND
    amp.amproclefttype = opc.opcintype AND amp.amprocnum = 4
WHERE am.amname = 'btree' AND
    amp.amproc IS DISTINCT FROM
    CASE WHEN opc.opcintype = 'encrypted_field_term'::regtype THEN 'btequalimage'::regproc END;
-- hash support 2 (extended, seeded) for each type
SELECT t.typname
FROM pg_type t, ef_opfamily f
WHERE f.opfmethod = (SELECT oid FROM pg_am WHERE amname = 'hash')
  AND t.typname IN ('encrypted_field', 'encrypted_field_term')
  AND NOT EXISTS (SELECT 1 FROM ef_amproc WHERE amprocfamily = f.oid AND amprocnum = 2
                  AND amproclefttype = t.oid AND amprocrighttype = t.oid);

-- **************** type_sanity ****************

SELECT t1.oid, t1.typname
FROM ef_type as t1
WHERE t1.typnamespace = 0 OR
    (t1.typlen <= 0 AND t1.typlen != -1 AND t1.typlen != -2) OR
    (t1.typtype not in ('b', 'c', 'd', 'e', 'm', 'p', 'r')) OR
    NOT t1.typisdefined OR
    (t1.typalign not in ('c', 's', 'i', 'd')) OR
    (t1.typstorage not in ('p', 'x', 'e', 'm'));
SELECT t1.oid, t1.typname
FROM ef_type as t1
WHERE t1.typbyval AND
    (t1.typlen != 1 OR t1.typalign != 'c') AND
    (t1.typlen != 2 OR t1.typalign != 's') AND
    (t1.typlen != 4 OR t1.typalign != 'i') AND
    (t1.typlen != 8 OR t1.typalign != 'd');
-- toastable types are varlena
SELECT t1.oid, t1.typname
FROM ef_type as t1
WHERE t1.typstorage != 'p' AND (t1.typbyval OR t1.typlen != -1);
SELECT t1.oid, t1.typname
FROM ef_type as t1
WHERE (t1.typtype = 'c' AND t1.typrelid = 0) OR (t1.typtype != 'c' AND t1.typrelid != 0);
-- every type has a true array type
SELECT t1.oid, t1.typname
FROM ef_type as t1
WHERE t1.typtype not in ('p') AND t1.typname NOT LIKE E'\\_%'
    AND NOT EXISTS
    (SELECT 1 FROM pg_type as t2
     WHERE t2.typname = ('_' || t1.typname)::name AND
           t2.typelem = t1.oid and t1.typarray = t2.oid);
SELECT t1.oid, t1.typname as basetype, t2.typname as arraytype, t2.typsubscript
FROM ef_type t1 LEFT JOIN pg_type t2 ON (t1.typarray = t2.oid)
WHERE t1.typarray <> 0 AND
       (t2.oid IS NULL OR t2.typsubscript <> 'array_subscript_handler'::regproc);
-- text and binary I/O functions: signatures, results, volatility
SELECT t1.oid, t1.typname FROM ef_type as t1 WHERE (t1.typinput = 0 OR t1.typoutput = 0);
-- (type_sanity checks input and receive alike, and output and send alike:
-- here each pair in one query)
SELECT t1.oid, t1.typname, f.kind, p1.proname
FROM ef_type AS t1,
	LATERAL (VALUES ('input', t1.typinput, 'cstring'::regtype, 'array_in'::regproc),
	                ('receive', t1.typreceive, 'internal'::regtype, 'array_recv'::regproc)) f(kind, fn, arg, array_fn),
	pg_proc AS p1
WHERE p1.oid = f.fn AND
    (NOT ((p1.pronargs = 1 AND p1.proargtypes[0] = f.arg) OR
          (p1.pronargs = 2 AND p1.proargtypes[0] = f.arg AND
           p1.proargtypes[1] = 'oid'::regtype) OR
          (p1.pronargs = 3 AND p1.proargtypes[0] = f.arg AND
           p1.proargtypes[1] = 'oid'::regtype AND
           p1.proargtypes[2] = 'int4'::regtype))
     OR (t1.typtype in ('b', 'p') AND NOT (t1.typelem != 0 AND t1.typlen < 0) AND
         NOT (p1.prorettype = t1.oid AND NOT p1.proretset))
     OR (t1.typelem != 0 AND t1.typlen < 0 AND p1.oid != f.array_fn));
SELECT t1.oid, t1.typname, f.kind, p1.proname
FROM ef_type AS t1,
	LATERAL (VALUES ('output', t1.typoutput, 'cstring'::regtype, 'array_out'::regproc),
	                ('send', t1.typsend, 'bytea'::regtype, 'array_send'::regproc)) f(kind, fn, result, array_fn),
	pg_proc AS p1
WHERE p1.oid = f.fn AND
    ((t1.typtype in ('b', 'p') AND NOT
      (p1.pronargs = 1 AND
       (p1.proargtypes[0] = t1.oid OR
        (p1.oid = f.array_fn AND t1.typelem != 0 AND t1.typlen = -1))))
     OR NOT (p1.prorettype = f.result AND NOT p1.proretset));
SELECT t1.oid, t1.typname, p1.oid, p1.proname, p2.oid, p2.proname
FROM ef_type AS t1, pg_proc AS p1, pg_proc AS p2
WHERE t1.typinput = p1.oid AND t1.typreceive = p2.oid AND p1.pronargs != p2.pronargs;
SELECT t1.oid, t1.typname, p1.oid, p1.proname
FROM ef_type AS t1, pg_proc AS p1
WHERE p1.oid IN (t1.typinput, t1.typoutput, t1.typreceive, t1.typsend) AND p1.provolatile NOT IN ('i', 's');
-- array types share their element's typmod functions and delimiter, and
-- are aligned enough
SELECT t1.oid, t1.typname, t2.oid, t2.typname
FROM ef_type AS t1, pg_type AS t2
WHERE t1.typelem = t2.oid AND NOT (t1.typmodin = t2.typmodin AND t1.typmodout = t2.typmodout);
SELECT t1.oid, t1.typname, t2.oid, t2.typname
FROM ef_type AS t1, pg_type AS t2
WHERE t1.typarray = t2.oid AND NOT (t1.typdelim = t2.typdelim);
SELECT t1.oid, t1.typname, t1.typalign, t2.typname, t2.typalign
FROM ef_type AS t1, pg_type AS t2
WHERE t1.typarray = t2.oid AND
    t2.typalign != (CASE WHEN t1.typalign = 'd' THEN 'd'::"char" ELSE 'i'::"char" END);
-- the analyser has the right signature; array types use array_typanalyze
SELECT t1.oid, t1.typname, p1.oid, p1.proname
FROM ef_type AS t1, pg_proc AS p1
WHERE t1.typanalyze = p1.oid AND NOT
    (p1.pronargs = 1 AND
     p1.proargtypes[0] = 'internal'::regtype AND
     p1.prorettype = 'bool'::regtype AND NOT p1.proretset);
SELECT t.oid, t.typname, t.typanalyze
FROM ef_type t
WHERE t.typbasetype = 0 AND
    (t.typanalyze = 'array_typanalyze'::regproc) != (t.typsubscript = 'array_subscript_handler'::regproc);
-- a domain inherits its base type's analyser
CREATE DOMAIN ef_dom AS encrypted_field;
SELECT d.oid, d.typname, d.typanalyze, t.oid, t.typname, t.typanalyze
FROM pg_type d JOIN ef_type t ON d.typbasetype = t.oid
WHERE d.typanalyze != t.typanalyze;
-- every type has a description (array types are described by their element)
SELECT t.oid, t.typname FROM ef_type t
WHERE t.typelem = 0 AND obj_description(t.oid, 'pg_type') IS NULL;

-- **************** ANALYZE ****************

SELECT ef_unlock(1);
-- every kind of column that holds values, each with values that have a
-- term, values that do not, and NULLs: ANALYZE of the array, composite
-- and array-of-domain columns sorts and hashes them with the family's
-- support functions; the domain column uses ef_typanalyze
CREATE TYPE ef_pair AS (id int, v encrypted_field);
CREATE TABLE analyzed (
	id int,
	v encrypted_field,
	arr encrypted_field[],
	dom ef_dom,
	dom_arr ef_dom[],
	pair ef_pair,
	pairs ef_pair[]
);
INSERT INTO analyzed
SELECT g, e, ARRAY[e, ef_encrypt('b' || g % 3)], e, ARRAY[e]::ef_dom[], ROW(g % 5, e)::ef_pair,
	ARRAY[ROW(g % 4, e)::ef_pair]
FROM generate_series(1, 400) g,
	LATERAL (SELECT ef_encrypt('a' || g % 7, searchable => (g % 2 = 0), search_domain => 'analyzed') AS e) x;
INSERT INTO analyzed SELECT g FROM generate_series(401, 500) g;
-- extended statistics, on columns and on an expression, sort the values too
CREATE STATISTICS analyzed_stats (ndistinct, dependencies, mcv) ON v, dom FROM analyzed;
CREATE STATISTICS analyzed_expr_stats ON (ARRAY[v, dom]) FROM analyzed;

ANALYZE analyzed;
-- what ANALYZE kept, without showing values (they are random ciphertexts)
CREATE VIEW analyzed_stats_summary AS
SELECT attname, null_frac, n_distinct, most_common_vals IS NOT NULL AS mcv,
	histogram_bounds IS NOT NULL AS histogram, most_common_elems IS NOT NULL AS mce
FROM pg_stats WHERE schemaname = 'public' AND tablename = 'analyzed' ORDER BY attname;
SELECT * FROM analyzed_stats_summary;
SELECT statistics_name, n_distinct IS NOT NULL AS ndistinct, dependencies IS NOT NULL AS dependencies,
	most_common_vals IS NOT NULL AS mcv
FROM pg_stats_ext WHERE tablename = 'analyzed';
SELECT statistics_name, expr, null_frac, n_distinct, histogram_bounds IS NOT NULL AS histogram
FROM pg_stats_ext_exprs WHERE tablename = 'analyzed';
-- the same through VACUUM (ANALYZE), the path autovacuum takes, and with
-- activity tracking off
DELETE FROM pg_statistic WHERE starelid = 'analyzed'::regclass;
VACUUM (ANALYZE) analyzed;
SELECT count(*) AS columns_with_statistics FROM pg_stats WHERE schemaname = 'public' AND tablename = 'analyzed';
SET track_activities = off;
ANALYZE analyzed;
RESET track_activities;
-- database-wide, with every table earlier tests left
ANALYZE;
SELECT * FROM analyzed_stats_summary;

-- outside ANALYZE, values without a term still cannot be compared
SELECT count(*) FROM analyzed a JOIN analyzed b ON a.arr = b.arr;
\echo :LAST_ERROR_SQLSTATE
SELECT count(DISTINCT pairs) FROM analyzed;
\echo :LAST_ERROR_SQLSTATE
SELECT id FROM analyzed ORDER BY dom_arr LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM analyzed WHERE v = (SELECT v FROM analyzed WHERE id = 1);
\echo :LAST_ERROR_SQLSTATE
SELECT ef_hash(v) FROM analyzed WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT ef_hash_extended(v, 0) FROM analyzed WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
-- while searchable ones compare as before
SELECT count(*) AS equal_terms FROM analyzed a JOIN analyzed b ON a.v = b.v WHERE a.id % 2 = 0 AND b.id % 2 = 0;

-- **************** hashes ****************

-- a searchable value hashes as its term, with or without a seed, and seed 0
-- gives the standard hash in the low 32 bits
SELECT ef_hash(v) = ef_term_hash(t) AS hash,
	ef_hash_extended(v, 0) = ef_term_hash_extended(t, 0) AS extended,
	ef_hash_extended(v, 42) = ef_term_hash_extended(t, 42) AS seeded,
	ef_hash_extended(v, 42) <> ef_hash_extended(v, 0) AS seed_matters,
	(ef_hash_extended(v, 0) & 4294967295) = (ef_hash(v)::bigint & 4294967295) AS low_bits
FROM (SELECT ef_encrypt('h', searchable => true) AS v, ef_term('h') AS t) x;

-- **************** hash partitioning ****************

CREATE TABLE accounts (email encrypted_field, note text, UNIQUE (email)) PARTITION BY HASH (email);
CREATE TABLE accounts_0 PARTITION OF accounts FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE accounts_1 PARTITION OF accounts FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TABLE accounts_2 PARTITION OF accounts FOR VALUES WITH (MODULUS 3, REMAINDER 2);
INSERT INTO accounts SELECT ef_encrypt('user' || g || '@example.org', searchable => true, search_domain => 'accounts'),
	'note ' || g
FROM generate_series(1, 60) g;
ANALYZE accounts;
-- each row is where the partition bounds (the extended hash) put it, and
-- the rows spread over the partitions
SELECT count(*) AS rows, count(DISTINCT tableoid) AS partitions,
	bool_and(satisfies_hash_partition('accounts'::regclass, 3,
		substring(tableoid::regclass::text FROM '\d$')::int, email)) AS routed
FROM accounts;
-- The plan of a query, then how many rows it returns; with join_method
-- 'hash' or 'merge', the only join method allowed.  Partitions and their
-- aliases are masked: which one holds a value depends on the database's
-- random index key.
CREATE FUNCTION plan_and_count(query text, join_method text DEFAULT NULL) RETURNS SETOF text
	LANGUAGE plpgsql AS $$
DECLARE
	line text;
	n bigint;
BEGIN
	IF join_method IS NOT NULL THEN
		PERFORM set_config('enable_nestloop', 'off', true);
		PERFORM set_config('enable_hashjoin', (join_method = 'hash')::text, true);
		PERFORM set_config('enable_mergejoin', (join_method = 'merge')::text, true);
	END IF;
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
		-- the same lines on every version: PostgreSQL 18 shows the nodes an
		-- enable_* setting disabled, 17 names an InitPlan's result
		-- (InitPlan 1).col1 where 15 writes $0
		CONTINUE WHEN line ~ '^\s*Disabled: true$';
		line := regexp_replace(line, '\(InitPlan 1\)\.col1', '$0');
		line := regexp_replace(line, 'InitPlan 1$', 'InitPlan 1 (returns $0)');
		RETURN NEXT regexp_replace(line, 'accounts_\d( accounts_\d)?', 'accounts_N', 'g');
	END LOOP;
	EXECUTE 'SELECT count(*) FROM (' || query || ') q' INTO n;
	RETURN NEXT 'rows: ' || n;
END
$$;
-- a lookup by term prunes to one partition and finds the row, through the
-- partition's UNIQUE index
SET enable_seqscan = off;
SELECT plan_and_count($$SELECT note FROM accounts WHERE email = ef_term('user7@example.org', 'accounts')$$);
RESET enable_seqscan;
SELECT note FROM accounts WHERE email = ef_term('user7@example.org', 'accounts');
SELECT note FROM accounts WHERE ef_term('user8@example.org', 'accounts') = email;
-- UNIQUE holds in each partition: a second row with the same plaintext
-- goes to the same partition and is refused (only the SQLSTATE: the
-- error names the partition and shows the random ciphertext)
\set VERBOSITY sqlstate
INSERT INTO accounts VALUES (ef_encrypt('user7@example.org', searchable => true, search_domain => 'accounts'), 'again');
INSERT INTO accounts VALUES (ef_encrypt('user60@example.org', searchable => true, search_domain => 'accounts'), 'again');
\set VERBOSITY default
-- a value without a term has no partition
INSERT INTO accounts VALUES (ef_encrypt('plain@example.org'), 'plain');
\echo :LAST_ERROR_SQLSTATE

-- **************** columns of terms ****************

CREATE TABLE probes (t encrypted_field_term);
INSERT INTO probes SELECT ef_term('user' || g % 10 || '@example.org', 'accounts') FROM generate_series(1, 100) g;
CREATE TABLE probe_log (t encrypted_field_term, n int);
INSERT INTO probe_log SELECT ef_term('user' || g || '@example.org', 'accounts'), g FROM generate_series(1, 30) g;
-- (statistics now, so that autovacuum's do not change the plans below)
ANALYZE probes, probe_log;
SELECT ef_lock();
-- with no key held
SELECT count(DISTINCT t) AS distinct_terms FROM probes;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF) SELECT t, count(*) FROM probes GROUP BY t;
SELECT count(*) AS groups, min(n), max(n) FROM (SELECT t, count(*) AS n FROM probes GROUP BY t) g;
RESET enable_hashagg;
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT t, count(*) FROM probes GROUP BY t;
SELECT count(*) AS groups, min(n), max(n) FROM (SELECT t, count(*) AS n FROM probes GROUP BY t) g;
RESET enable_sort;
-- ORDER BY orders terms as their bytes (their hexadecimal text form)
SELECT array_agg(t ORDER BY t) = array_agg(t ORDER BY t::text COLLATE "C") AS bytewise,
	array_agg(t ORDER BY t DESC) = array_agg(t ORDER BY t::text COLLATE "C" DESC) AS descending
FROM probes;
SELECT count(*) FROM probes WHERE t < (SELECT t FROM probes ORDER BY t DESC LIMIT 1);
-- values and terms compare in the order of terms, whichever side each is on
SELECT count(*) AS pairs,
	bool_and((a.email < l.t) = (h < l.t::text) AND (a.email <= l.t) = (h <= l.t::text)
		AND (a.email = l.t) = (h = l.t::text) AND (a.email <> l.t) = (h <> l.t::text)
		AND (a.email >= l.t) = (h >= l.t::text) AND (a.email > l.t) = (h > l.t::text)
		AND (l.t < a.email) = (l.t::text < h) AND (l.t <= a.email) = (l.t::text <= h)
		AND (l.t = a.email) = (l.t::text = h) AND (l.t <> a.email) = (l.t::text <> h)
		AND (l.t >= a.email) = (l.t::text >= h) AND (l.t > a.email) = (l.t::text > h)
		AND sign(ef_cmp_term(a.email, l.t)) = sign(-ef_term_cmp(l.t, a.email))) AS as_terms
FROM (SELECT email, encode((ef_envelope(email)).search_term, 'hex') COLLATE "C" AS h FROM accounts) a, probe_log l;
-- joins of terms with terms, and of values with stored terms both ways
-- round, by hash and by merge
SELECT plan_and_count('SELECT p.t FROM probes p JOIN probe_log l ON l.t = p.t', 'hash');
SELECT plan_and_count('SELECT p.t FROM probes p JOIN probe_log l ON l.t = p.t', 'merge');
-- (without the UNIQUE constraint of accounts, from which PostgreSQL 18
-- proves the join's inner side unique and would hash accounts rather than
-- probe_log: the plans are then the same on every version)
ALTER TABLE accounts DROP CONSTRAINT accounts_email_key;
SELECT plan_and_count('SELECT a.note FROM accounts a JOIN probe_log l ON a.email = l.t', 'hash');
SELECT plan_and_count('SELECT a.note FROM accounts a JOIN probe_log l ON l.t = a.email', 'hash');
SELECT plan_and_count('SELECT a.note FROM accounts a JOIN probe_log l ON a.email = l.t', 'merge');
SELECT plan_and_count('SELECT a.note FROM accounts a JOIN probe_log l ON l.t = a.email', 'merge');
-- indexes on terms: btree (deduplicated) and hash
CREATE INDEX probes_btree ON probes (t);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT plan_and_count('SELECT t FROM probes WHERE t = (SELECT t FROM probe_log WHERE n = 3)');
DROP INDEX probes_btree;
CREATE INDEX probes_hash ON probes USING hash (t);
SELECT plan_and_count('SELECT t FROM probes WHERE t = (SELECT t FROM probe_log WHERE n = 3)');
RESET enable_seqscan;
RESET enable_bitmapscan;

DROP TABLE analyzed, accounts, probes, probe_log;
DROP VIEW analyzed_stats_summary;
DROP FUNCTION plan_and_count(text, text);
DROP TYPE ef_pair;
DROP DOMAIN ef_dom;
