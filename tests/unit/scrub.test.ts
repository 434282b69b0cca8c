// Secret scrubbing (hooks/core/docker.ts scrubSecrets) and the operator's table of backups
// (hooks/volumes/list.ts formatTable), without Docker.
import * as assert from "assert";
import { scrubSecrets } from "../../hooks/core/docker";
import { formatBytes } from "../../hooks/offsite/backup-index";
import { formatTable } from "../../hooks/volumes/list";

describe("scrubSecrets (hooks/core/docker.ts)", () => {
    const env = {
        POSTGRES_PASSWORD: "s3cr3t-pw",
        DJANGO_SECRET_KEY: "django-key-123",
        API_TOKEN: "tok-9999",
        SHORT_KEY: "abc",
        HOME: "/home/op",
    };

    it("replaces every occurrence of each secret-looking variable's value with ***", () => {
        assert.strictEqual(
            scrubSecrets("psql password=s3cr3t-pw; again s3cr3t-pw; key django-key-123; tok-9999", env),
            "psql password=***; again ***; key ***; ***",
        );
    });

    it("leaves values of other variables and very short values alone", () => {
        assert.strictEqual(scrubSecrets("home /home/op, abc", env), "home /home/op, abc");
    });
});

describe("formatTable (hooks/volumes/list.ts)", () => {
    it("aligns the columns, lists problems after the table, and says when there are none", () => {
        const t = formatTable([
            {
                location: "local",
                product: "cvat",
                id: "2.2.0-to-2.3.0-a1-restore-point",
                version: "2.2.0",
                label: "restore-point",
                createdAt: "2026-12-01T10:00:00Z",
                bytes: 3 * 1048576,
                status: "complete",
                problems: [],
            },
            {
                location: "s3",
                bucket: "bk",
                product: "kwdb",
                id: "x",
                bytes: 512,
                status: "corrupt",
                problems: ["kwdb.tar.zst: sha256 differs"],
            },
        ] as Parameters<typeof formatTable>[0]);
        const lines = t.split("\n");
        assert.match(lines[0], /^WHERE\s+PRODUCT\s+ID\s+VERSION\s+LABEL\s+CREATED\s+SIZE\s+STATUS$/);
        assert.strictEqual(lines[1].indexOf("cvat"), lines[0].indexOf("PRODUCT"));
        assert.strictEqual(lines[2].indexOf("kwdb"), lines[0].indexOf("PRODUCT"));
        assert.strictEqual(lines[2].indexOf("corrupt"), lines[0].indexOf("STATUS"));
        assert.match(lines[1], /3\.0 MiB\s+complete$/);
        assert.match(lines[2], /^s3:\/\/bk\s+kwdb\s+x\s+-\s+-\s+-\s+512 B\s+corrupt$/);
        assert.strictEqual(lines[4], "kwdb/x (s3): kwdb.tar.zst: sha256 differs");
        assert.strictEqual(
            formatTable([]),
            "WHERE  PRODUCT  ID  VERSION  LABEL  CREATED  SIZE  STATUS\n(no backups)\n",
        );
    });

    it("formatBytes: binary units, one decimal above bytes", () => {
        assert.deepStrictEqual([0, 1023, 1024, 1536, 5 * 1073741824].map(formatBytes), [
            "0 B",
            "1023 B",
            "1.0 KiB",
            "1.5 KiB",
            "5.0 GiB",
        ]);
    });
});
