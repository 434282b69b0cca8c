import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { hasPartitionInterval, maskSql, stripPartitionInterval } from "../../hooks/kwdb/meta";

// A 2.x-style meta.sql (shapes from KWDB's SHOW CREATE output and docs): the clause at the end of a
// CREATE TS DATABASE, at the end of a multi-line CREATE TABLE, before other options with odd casing
// and a line break inside it, with a long unit, in an ALTER, plus literals/comments/identifiers holding the words.
const META = fs.readFileSync(path.join(__dirname, "fixtures", "kwdb", "meta-2x.sql"), "utf8");

describe("KWDB meta.sql transform (PARTITION INTERVAL removed before importing into 3.x)", () => {
    it("removes every clause in SQL and nothing else, on realistic 2.x export text", () => {
        const r = stripPartitionInterval(META);
        assert.strictEqual(r.removed, 6);
        assert.strictEqual(hasPartitionInterval(r.text), false);
        const expected = META.replace("RETENTIONS 864000s PARTITION INTERVAL 10d;", "RETENTIONS 864000s;")
            .replace("\tactivetime 1d\n\tpartition interval 10d;", "\tactivetime 1d;")
            .replace(
                "PRIMARY TAGS(machine_code) Partition   Interval\n  1d activetime 3h;",
                "PRIMARY TAGS(machine_code) activetime 3h;",
            )
            .replace("PRIMARY TAGS(dev) PARTITION INTERVAL 100000000000000MINUTE;", "PRIMARY TAGS(dev);")
            .replace("\nALTER TS DATABASE sensors SET PARTITION INTERVAL = 15S;", "")
            .replace("PRIMARY TAGS(t) partition interval 5h;", "PRIMARY TAGS(t);");
        assert.strictEqual(r.text, expected);
    });

    it("leaves string literals, comments and quoted identifiers that contain the words untouched", () => {
        const r = stripPartitionInterval(META);
        assert.ok(r.text.includes("DEFAULT 'PARTITION INTERVAL 10d stays in this literal'"));
        assert.ok(r.text.includes("-- PARTITION INTERVAL 10d in a comment is left alone"));
        assert.ok(r.text.includes("IS 'old layout: PARTITION INTERVAL 10d; don''t touch';"));
        assert.ok(r.text.includes('sensors.public."odd PARTITION INTERVAL name"'));
    });

    it("is idempotent and leaves text without the clause byte for byte", () => {
        const once = stripPartitionInterval(META).text;
        const twice = stripPartitionInterval(once);
        assert.strictEqual(twice.removed, 0);
        assert.strictEqual(twice.text, once);
        const plain = "CREATE DATABASE shop;\nCREATE TABLE shop.public.orders (id INT8 PRIMARY KEY, note STRING);\n";
        assert.deepStrictEqual(stripPartitionInterval(plain), { text: plain, removed: 0 });
    });

    it("masks literals with escaped quotes, block comments and identifiers at the same length", () => {
        const sql = "SELECT 'a''b', /* PARTITION INTERVAL 1d */ \"x\"\"y\" -- c\nFROM t";
        const m = maskSql(sql);
        assert.strictEqual(m.length, sql.length);
        assert.ok(!/PARTITION/.test(m));
        assert.ok(m.startsWith("SELECT '"));
        assert.ok(m.endsWith("\nFROM t"));
    });
});
