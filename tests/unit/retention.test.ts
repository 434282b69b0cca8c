import * as assert from "assert";
import { decideRetention, newestPerProduct, RetentionItem, RetentionStatus } from "../../hooks/offsite/retention";

function b(
    product: string,
    id: string,
    day: number,
    status: RetentionStatus = "complete",
    label?: string,
): RetentionItem {
    return { product, id, createdAt: new Date(Date.UTC(2026, 10, day, 12)).toISOString(), status, label };
}
const ids = (l: { item: RetentionItem }[]) => l.map((x) => `${x.item.product}/${x.item.id}`).sort();

describe("retention (pure decision)", () => {
    it("N=2 after 4 backups keeps exactly the two newest and deletes the two oldest", () => {
        const items = [b("cvat", "b1", 1), b("cvat", "b2", 2), b("cvat", "b3", 3), b("cvat", "b4", 4, "checksum-ok")];
        const d = decideRetention(items, { keep: 2 });
        assert.deepStrictEqual(ids(d.keep), ["cvat/b3", "cvat/b4"]);
        assert.deepStrictEqual(ids(d.delete), ["cvat/b1", "cvat/b2"]);
        assert.deepStrictEqual(d.blocked, []);
    });

    it("orders by createdAt, not by id or input order", () => {
        const items = [
            b("cvat", "zzz-oldest", 1),
            b("cvat", "aaa-newest", 9, "checksum-ok"),
            b("cvat", "mmm", 5),
            b("cvat", "bbb", 3),
        ];
        const d = decideRetention([...items].reverse(), { keep: 2 });
        assert.deepStrictEqual(ids(d.keep), ["cvat/aaa-newest", "cvat/mmm"]);
        assert.deepStrictEqual(ids(d.delete), ["cvat/bbb", "cvat/zzz-oldest"]);
    });

    it("always keeps the latest restore-point backup, even when older than the last N", () => {
        const items = [
            b("cvat", "rp-old", 1, "complete", "restore-point"),
            b("cvat", "rp", 2, "complete", "restore-point"),
            b("cvat", "b3", 3),
            b("cvat", "b4", 4),
            b("cvat", "b5", 5, "checksum-ok"),
        ];
        const d = decideRetention(items, { keep: 2 });
        assert.deepStrictEqual(ids(d.keep), ["cvat/b4", "cvat/b5", "cvat/rp"]);
        assert.deepStrictEqual(ids(d.delete), ["cvat/b3", "cvat/rp-old"]);
        const rp = d.keep.find((k) => k.item.id === "rp")!;
        assert.ok(rp.reasons.includes("latest restore point"));
    });

    it("a restore point within the last N is kept once, with both reasons", () => {
        const items = [
            b("cvat", "b1", 1),
            b("cvat", "rp", 2, "complete", "restore-point"),
            b("cvat", "b3", 3, "checksum-ok"),
        ];
        const d = decideRetention(items, { keep: 2 });
        assert.deepStrictEqual(ids(d.keep), ["cvat/b3", "cvat/rp"]);
        assert.deepStrictEqual(d.keep.find((k) => k.item.id === "rp")!.reasons, [
            "last 2 (#2)",
            "latest restore point",
        ]);
        assert.deepStrictEqual(ids(d.delete), ["cvat/b1"]);
    });

    it("a corrupt latest restore point does not displace the latest good one", () => {
        const items = [
            b("cvat", "rp-good", 1, "complete", "restore-point"),
            b("cvat", "rp-bad", 2, "corrupt", "restore-point"),
            b("cvat", "b3", 3),
            b("cvat", "b4", 4, "checksum-ok"),
        ];
        const d = decideRetention(items, { keep: 2 });
        assert.deepStrictEqual(ids(d.keep), ["cvat/b3", "cvat/b4", "cvat/rp-good"]);
        assert.deepStrictEqual(ids(d.delete), ["cvat/rp-bad"]);
    });

    it("newest not verified -> nothing of that product is pruned", () => {
        for (const status of ["complete", "corrupt"] as RetentionStatus[]) {
            const items = [b("cvat", "b1", 1), b("cvat", "b2", 2), b("cvat", "b3", 3), b("cvat", "b4", 4, status)];
            const d = decideRetention(items, { keep: 1 });
            assert.deepStrictEqual(d.delete, [], status);
            assert.strictEqual(d.blocked.length, 1);
            assert.match(d.blocked[0].reason, /newest backup cvat\/b4 is (not verified|corrupt): nothing pruned/);
            assert.deepStrictEqual(ids(d.keep), ["cvat/b1", "cvat/b2", "cvat/b3", "cvat/b4"]);
        }
    });

    it("a blocked product does not block another product", () => {
        const items = [
            b("cvat", "c1", 1),
            b("cvat", "c2", 2, "complete"),
            b("kwdb", "k1", 1),
            b("kwdb", "k2", 2),
            b("kwdb", "k3", 3, "checksum-ok"),
        ];
        const d = decideRetention(items, { keep: 1 });
        assert.deepStrictEqual(
            d.blocked.map((x) => x.product),
            ["cvat"],
        );
        assert.deepStrictEqual(ids(d.delete), ["kwdb/k1", "kwdb/k2"]);
    });

    it("never deletes all: N=1 with a single verified backup deletes nothing, and keep < 1 is refused", () => {
        const d = decideRetention([b("cvat", "only", 1, "checksum-ok")], { keep: 1 });
        assert.deepStrictEqual(ids(d.keep), ["cvat/only"]);
        assert.deepStrictEqual(d.delete, []);
        assert.throws(
            () => decideRetention([b("cvat", "only", 1, "checksum-ok")], { keep: 0 }),
            /keep must be an integer >= 1/,
        );
        assert.throws(() => decideRetention([], { keep: 1.5 }), RangeError);
    });

    it("never deletes all, whatever the mix of statuses", () => {
        const statuses: RetentionStatus[] = ["complete", "checksum-ok", "corrupt", "partial", "foreign"];
        // every combination of 4 backups' statuses, N from 1 to 4
        const n = statuses.length;
        for (let mask = 0; mask < n ** 4; mask++) {
            const items = [0, 1, 2, 3].map((i) =>
                b(
                    "cvat",
                    `b${i}`,
                    i + 1,
                    statuses[Math.floor(mask / n ** i) % n],
                    i === 1 ? "restore-point" : undefined,
                ),
            );
            for (let keep = 1; keep <= 4; keep++) {
                const d = decideRetention(items, { keep });
                const deleted = new Set(d.delete.map((x) => x.item.id));
                const left = items.filter(
                    (x) => !deleted.has(x.id) && x.status !== "partial" && x.status !== "foreign",
                );
                for (const x of items)
                    if (x.status === "foreign" || x.status === "partial")
                        assert.ok(!deleted.has(x.id), "never one it did not write or has not finished");
                if (d.delete.length > 0) {
                    assert.ok(
                        left.some((x) => x.status === "checksum-ok"),
                        `mask ${mask} keep ${keep}: a verified backup must be left`,
                    );
                    const newest = newestPerProduct(items)[0];
                    assert.ok(!deleted.has(newest.id), "the newest is never deleted");
                    assert.strictEqual(newest.status, "checksum-ok");
                }
                assert.strictEqual(
                    d.keep.length + d.delete.length + d.untouched.length,
                    items.length,
                    "every backup is accounted for once",
                );
            }
        }
    });

    it("partial backups and backups without createdAt are left alone and do not count", () => {
        const items: RetentionItem[] = [
            b("cvat", "b1", 1),
            b("cvat", "b2", 2, "checksum-ok"),
            b("cvat", "b3-in-progress", 3, "partial"),
            { product: "cvat", id: "no-date", status: "complete" },
        ];
        const d = decideRetention(items, { keep: 1 });
        assert.deepStrictEqual(ids(d.keep), ["cvat/b2"]);
        assert.deepStrictEqual(ids(d.delete), ["cvat/b1"]);
        assert.deepStrictEqual(ids(d.untouched), ["cvat/b3-in-progress", "cvat/no-date"]);
    });

    // Changed by issue 12, finding 4: a corrupt backup among the N newest was deleted; it is now
    // kept and reported as damaged. Corrupt ones still do not count toward N.
    it("a corrupt backup among the N newest is reported as damaged, not deleted, and does not count toward N", () => {
        const items = [
            b("cvat", "b1", 1),
            b("cvat", "b2", 2),
            b("cvat", "b3", 3, "corrupt"),
            b("cvat", "b4", 4, "checksum-ok"),
        ];
        const d = decideRetention(items, { keep: 2 });
        assert.deepStrictEqual(ids(d.keep), ["cvat/b2", "cvat/b3", "cvat/b4"]);
        assert.deepStrictEqual(ids(d.delete), ["cvat/b1"]);
        assert.deepStrictEqual(ids(d.damaged), ["cvat/b3"]);
    });

    it("a corrupt backup older than the N newest is deleted", () => {
        const items = [
            b("cvat", "b1", 1, "corrupt"),
            b("cvat", "b2", 2),
            b("cvat", "b3", 3),
            b("cvat", "b4", 4, "checksum-ok"),
        ];
        const d = decideRetention(items, { keep: 2 });
        assert.deepStrictEqual(ids(d.delete), ["cvat/b1", "cvat/b2"]);
        assert.strictEqual(d.delete.find((x) => x.item.id === "b1")!.reason, "corrupt, not needed to keep");
        assert.deepStrictEqual(d.damaged, []);
    });

    it("a backup upshift did not write as it is (foreign: copied, renamed, unreadable manifest) is left alone (issue 12, finding 4)", () => {
        const items = [
            b("cvat", "copy-of-b1", 1, "foreign"),
            b("cvat", "b1", 1),
            b("cvat", "b2", 2),
            b("cvat", "b3", 3, "checksum-ok"),
        ];
        const d = decideRetention(items, { keep: 1 });
        assert.deepStrictEqual(ids(d.untouched), ["cvat/copy-of-b1"]);
        assert.deepStrictEqual(ids(d.delete), ["cvat/b1", "cvat/b2"]);
        assert.match(d.untouched[0].reason, /not as upshift wrote it/);
    });

    it("a restore point the deployed record lists as a rollback target is never deleted (issue 12, finding 3)", () => {
        const items = [
            b("cvat", "2.2.0-to-2.3.0-a1-restore-point", 1, "complete", "restore-point"),
            b("cvat", "b2", 2),
            b("cvat", "b3", 3),
            b("cvat", "2.3.0-to-2.4.0-a2-restore-point", 4, "checksum-ok", "restore-point"),
        ];
        const without = decideRetention(items, { keep: 1 });
        assert.ok(ids(without.delete).includes("cvat/2.2.0-to-2.3.0-a1-restore-point"), "the old rule deletes it");
        const d = decideRetention(items, { keep: 1, protect: new Set(["cvat/2.2.0-to-2.3.0-a1-restore-point"]) });
        assert.deepStrictEqual(ids(d.delete), ["cvat/b2", "cvat/b3"]);
        assert.deepStrictEqual(d.keep.find((k) => k.item.id === "2.2.0-to-2.3.0-a1-restore-point")!.reasons, [
            "a rollback target in the deployed record",
        ]);
    });

    it("newestPerProduct names the backup to verify, skipping partial ones", () => {
        const items = [b("cvat", "c1", 1), b("cvat", "c2", 2), b("cvat", "c3", 3, "partial"), b("kwdb", "k1", 5)];
        assert.deepStrictEqual(
            newestPerProduct(items)
                .map((x) => `${x.product}/${x.id}`)
                .sort(),
            ["cvat/c2", "kwdb/k1"],
        );
    });

    it("equal createdAt: the order is deterministic (by id)", () => {
        const items = [b("cvat", "a", 1), b("cvat", "c", 1, "checksum-ok"), b("cvat", "b", 1)];
        const d = decideRetention(items, { keep: 2 });
        assert.deepStrictEqual(ids(d.keep), ["cvat/b", "cvat/c"]);
        assert.deepStrictEqual(ids(d.delete), ["cvat/a"]);
    });
});
