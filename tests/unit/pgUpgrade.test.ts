// The default pg_upgrade helper per Postgres image pair (catalog/pgUpgrade.ts) and the config key
// that overrides it.
import * as assert from "assert";
import { defaultPgUpgradeImage, parsePostgresImage } from "../../catalog/pgUpgrade";

describe("pg_upgrade helper defaults (catalog/pgUpgrade.ts)", () => {
    it("parses official postgres image references (major, C library)", () => {
        assert.deepStrictEqual(parsePostgresImage("postgres:10-alpine"), { major: 10, libc: "musl" });
        assert.deepStrictEqual(parsePostgresImage("postgres:15"), { major: 15, libc: "glibc" });
        assert.deepStrictEqual(parsePostgresImage("docker.io/library/postgres:17.2-bookworm"), {
            major: 17,
            libc: "glibc",
        });
        assert.deepStrictEqual(parsePostgresImage("mirror.local:5000/postgres:17-alpine3.20"), {
            major: 17,
            libc: "musl",
        });
        assert.strictEqual(parsePostgresImage("kwdb/kwdb:3.2.1"), undefined);
    });

    it("alpine pairs get pgautoupgrade's alpine image, Debian pairs tianon/postgres-upgrade", () => {
        assert.deepStrictEqual(defaultPgUpgradeImage("postgres:10-alpine", "postgres:15-alpine"), {
            image: "pgautoupgrade/pgautoupgrade:15-alpine",
        });
        assert.deepStrictEqual(defaultPgUpgradeImage("postgres:15", "postgres:17"), {
            image: "tianon/postgres-upgrade:15-to-17",
        });
    });

    it("a C library change or a non-official image has no default, with the reason (dump and restore then)", () => {
        const libc = defaultPgUpgradeImage("postgres:15-alpine", "postgres:17");
        assert.ok("none" in libc);
        assert.match(libc.none, /changes the C library \(musl -> glibc\)/);
        const other = defaultPgUpgradeImage("bitnami/postgresql:15", "postgres:17");
        assert.ok("none" in other);
        assert.match(other.none, /upshift:pgUpgradeImage/);
        assert.ok("none" in defaultPgUpgradeImage("postgres:15", "postgres:15"));
    });
});

describe("pg_upgrade in the plan text (pgUpgradePlan)", () => {
    it("names the helper and the fallback, or says why it is dump and restore", async () => {
        const { pgUpgradePlan } = await import("../../catalog/pgUpgrade");
        assert.deepStrictEqual(pgUpgradePlan("postgres:10-alpine", "postgres:15-alpine"), {
            image: "pgautoupgrade/pgautoupgrade:15-alpine",
            text: "pg_upgrade with pgautoupgrade/pgautoupgrade:15-alpine (--check first; dump and restore instead if it refuses), verified against the old cluster",
        });
        assert.strictEqual(
            pgUpgradePlan("postgres:15", "postgres:17", "mirror.local/pg-upgrade:15-17").image,
            "mirror.local/pg-upgrade:15-17",
        );
        const libc = pgUpgradePlan("postgres:15-alpine", "postgres:17");
        assert.strictEqual(libc.image, undefined);
        assert.match(libc.text, /^dump and restore \(.*changes the C library/);
    });
});

describe("the Postgres major change as one plan step (pgMigrateStep)", () => {
    it("pg_upgrade with the pair's helper, pulled like every image; dump and restore with the reason when none fits", async () => {
        const { pgMigrateStep, pgUpgradePlan } = await import("../../catalog/pgUpgrade");
        assert.strictEqual(
            pgUpgradePlan("postgres:10-alpine", "postgres:15-alpine", undefined, (r) => `m.local/${r}`).image,
            "m.local/pgautoupgrade/pgautoupgrade:15-alpine",
        );
        const base = { product: "P", service: "db", volumeKey: "db", user: "root", stop: ["app1", "app2"] };
        const up = pgMigrateStep({ ...base, fromImage: "postgres:15", toImage: "postgres:17" });
        assert.deepStrictEqual(
            [up.id, up.kind, up.phase, up.reversible],
            ["pg-migrate", "pg-migrate", "before-stop", true],
        );
        assert.deepStrictEqual(up.params, {
            container: "db",
            image: "postgres:17",
            volume: "${vol:db:to}",
            user: "root",
            stop: "app1,app2",
            upgradeImage: "tianon/postgres-upgrade:15-to-17",
            deferAnalyze: "true",
        });
        assert.match(
            up.description,
            /from Postgres 15 \(volume \$\{vol:db:from\}, only read\) to Postgres 17 on the new volume \$\{vol:db:to\}: pg_upgrade with tianon\/postgres-upgrade:15-to-17 \(--check first; dump and restore instead if it refuses\)/,
        );
        const dump = pgMigrateStep({ ...base, fromImage: "example/pg:15", toImage: "example/pg:17" });
        assert.strictEqual(dump.params.method, "dump");
        assert.strictEqual(dump.params.upgradeImage, undefined);
        assert.match(
            dump.description,
            /from example\/pg:15 .*: dump and restore \(no default pg_upgrade helper .*set upshift:pgUpgradeImage\)/,
        );
        assert.strictEqual(
            pgMigrateStep({ ...base, fromImage: "example/pg:15", toImage: "example/pg:17", override: "h:1" }).params
                .upgradeImage,
            "h:1",
        );
        // The statistics step exists only where pg_upgrade may run (dump/restore analyzes as it loads).
        const { pgAnalyzeStep } = await import("../../catalog/pgUpgrade");
        const analyze = pgAnalyzeStep({ ...base, fromImage: "postgres:15", toImage: "postgres:17" });
        assert.deepStrictEqual(
            analyze.map((s) => [s.id, s.kind, s.phase, s.reversible, JSON.stringify(s.params)]),
            [["pg-analyze", "pg-analyze", "after-app", true, JSON.stringify({ container: "db", user: "root" })]],
        );
        assert.deepStrictEqual(pgAnalyzeStep({ ...base, fromImage: "example/pg:15", toImage: "example/pg:17" }), []);
    });
});
