// Where a backup lives in the bucket (hooks/offsite/s3.ts): `[<prefix>/]<product>/<id>/<file>`,
// the same names as on disk; a prefix that climbs out is refused.
import * as assert from "assert";
import { backupKeyPrefix, joinKey, normalizePrefix } from "../../hooks/offsite/s3";

describe("S3 key helpers (hooks/offsite/s3.ts)", () => {
    it("normalizePrefix drops leading and trailing slashes; empty stays empty", () => {
        assert.strictEqual(normalizePrefix("/backups/prod/"), "backups/prod");
        assert.strictEqual(normalizePrefix(""), "");
        assert.strictEqual(normalizePrefix(undefined), "");
    });

    it("normalizePrefix refuses . and .. segments", () => {
        for (const p of ["../x", "a/../b", "./a", "a/."])
            assert.throws(() => normalizePrefix(p), /^HookError: invalid S3 prefix|invalid S3 prefix/, p);
    });

    it("joinKey and backupKeyPrefix give the bucket layout, with or without a prefix", () => {
        assert.strictEqual(joinKey("", "cvat", "id1", ""), "cvat/id1");
        assert.strictEqual(
            backupKeyPrefix("", "cvat", "2.2.0-to-2.3.0-a1-restore-point"),
            "cvat/2.2.0-to-2.3.0-a1-restore-point",
        );
        assert.strictEqual(backupKeyPrefix("/team/prod/", "kwdb", "id"), "team/prod/kwdb/id");
    });
});
