// The content fingerprint of kwdb-export (hooks/kwdb/common.ts RowHashSum): pure, on CSV text as
// `kwbase sql --format=csv` prints it.
import * as assert from "assert";
import { RowHashSum } from "../../hooks/kwdb/common";

const digest = (chunks: string[]) => {
    const h = new RowHashSum();
    for (const c of chunks) h.add(c);
    return h.digest();
};

describe("kwdb-export content fingerprint (RowHashSum)", () => {
    const rows = ["1,alpha", '2,"with, comma"', '3,"two\nlines"', '4,"a ""quote"""', "5,"];
    const csv = (r: string[], nl = "\n") => ["id,note", ...r].join(nl) + nl;

    it("the same rows in any order, in any chunking, give the same fingerprint; the header is not a row", () => {
        const a = digest([csv(rows)]);
        assert.match(a, /^5:[0-9a-f]{32}$/);
        assert.strictEqual(digest([csv([...rows].reverse())]), a);
        const text = csv(rows);
        for (let cut = 1; cut < text.length; cut += 3)
            assert.strictEqual(digest([text.slice(0, cut), text.slice(cut)]), a, `cut at ${cut}`);
        assert.strictEqual(digest([csv(rows, "\r\n")]), a, "CRLF line ends");
        assert.strictEqual(digest([csv(rows).slice(0, -1)]), a, "no final newline");
        assert.strictEqual(digest(["id,note\n"]), "0:00000000000000000000000000000000");
    });

    it("one changed, added, removed or duplicated row changes it (an UPDATE keeps the count, not the fingerprint)", () => {
        const a = digest([csv(rows)]);
        const changed = digest([csv(["1,alphA", ...rows.slice(1)])]);
        assert.notStrictEqual(changed, a);
        assert.strictEqual(changed.split(":")[0], "5");
        assert.notStrictEqual(digest([csv([...rows, "6,x"])]), a);
        assert.notStrictEqual(digest([csv(rows.slice(1))]), a);
        assert.notStrictEqual(digest([csv([...rows.slice(0, 4), rows[0]])]), a, "a row twice instead of another");
        // Swapping values between two rows keeps every column's multiset but not the rows'.
        assert.notStrictEqual(digest([csv(["1,beta", "2,alpha"])]), digest([csv(["1,alpha", "2,beta"])]));
    });
});
