// Three CVAT upgrade/rollback cycles on one stack, under the REAL Pulumi engine (file backend) on
// the REAL Docker engine and Postgres. STAND-INS: the provider plugins and the app images
// (tests/e2e/standins/README.md). The engine found that the third upgrade dropped the first
// retained Postgres volume from the deployed record, so the program stopped declaring it and the
// engine tried to delete it (refused: protected). Every volume ever used must stay declared.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { cvatCatalog } from "../../catalog/cvat";
import { TEST_IMAGES } from "../integration/setup";
import { digest, psql, waitReady } from "../integration/cvat-steps";
import { assertAllServing, buildStandins, CVAT_IMAGES, dk, dkQuiet, E2EStack } from "./harness";

const names = (v: string) => cvatCatalog.services(v).map((s) => s.name);
const cvatVolumes = () => dk(["volume", "ls", "-q", "--filter", "name=cvat_cvat_"]).split("\n").filter(Boolean).sort();

function clean(): void {
    for (const c of new Set([...names("2.2.0"), ...names("2.3.0")])) dkQuiet(["rm", "-f", c]);
    for (const v of cvatVolumes()) dkQuiet(["volume", "rm", "-f", v]);
    dkQuiet(["network", "rm", "upshift_cvat"]);
}

describe("e2e: three CVAT upgrade/rollback cycles on one stack, real Pulumi engine, Docker and Postgres; stand-in providers and app images", function () {
    this.timeout(40 * 60 * 1000);
    const stack = new E2EStack("e2e-cycles");
    before(async () => {
        buildStandins(["cvat-2.2.0", "cvat-2.3.0", "static"]);
        clean();
        await stack.init();
        stack.writeConfig([
            `upshift:backupDir: ${stack.backupDir}`,
            `upshift:helperImage: ${TEST_IMAGES.tools}`,
            "cvat:version: 2.2.0",
            "cvat:images:",
            ...Object.entries(CVAT_IMAGES).map(([k, v]) => `  ${JSON.stringify(k)}: ${v}`),
        ]);
        await stack.config("cvat:dbPassword", "e2e-Cycles-Secret-7b1c", { secret: true });
    });
    after(async () => {
        await stack.teardown();
        clean();
        stack.cleanup();
    });

    it("every cycle keeps the rows, serves every container, and keeps every volume ever used declared and on the host", async () => {
        await stack.up();
        await waitReady("cvat_db");
        psql(
            "cvat_db",
            "cvat",
            "CREATE TABLE engine_task (id int PRIMARY KEY, name text); INSERT INTO engine_task SELECT g, 'task ' || g FROM generate_series(1, 5000) g;",
        );
        let rows = digest("cvat_db", "cvat");
        for (let cycle = 1; cycle <= 3; cycle++) {
            if (cycle > 1) {
                // Work done at 2.2.0 after the rollback: the next upgrade's restore point must hold it.
                psql(
                    "cvat_db",
                    "cvat",
                    `INSERT INTO engine_task SELECT g, 'cycle ${cycle} ' || g FROM generate_series(${cycle * 10000}, ${cycle * 10000 + 999}) g;`,
                );
                rows = digest("cvat_db", "cvat");
            }
            await stack.config("cvat:version", "2.3.0");
            await stack.up();
            assertAllServing(names("2.3.0"));
            assert.deepStrictEqual(digest("cvat_db", "cvat"), rows, `upgrade ${cycle}: every row`);
            await stack.config("cvat:version", "2.2.0");
            await stack.up();
            assertAllServing(names("2.2.0"));
            assert.deepStrictEqual(digest("cvat_db", "cvat"), rows, `rollback ${cycle}: every row`);
        }
        // Each attempt took its own restore point (issue 12, finding 1): upgrades are attempts 1, 3, 5,
        // rollbacks 2, 4, 6, each newer than the one before; none was an earlier one reused.
        const points = fs.readdirSync(path.join(stack.backupDir, "cvat")).filter((d) => /-point$/.test(d));
        assert.deepStrictEqual(points.sort(), [
            "2.2.0-to-2.3.0-a1-restore-point",
            "2.2.0-to-2.3.0-a3-restore-point",
            "2.2.0-to-2.3.0-a5-restore-point",
            "2.3.0-to-2.2.0-a2-rollback-point",
            "2.3.0-to-2.2.0-a4-rollback-point",
            "2.3.0-to-2.2.0-a6-rollback-point",
        ]);
        const created = points
            .sort((a, b) => Number(/-a(\d+)-/.exec(a)![1]) - Number(/-a(\d+)-/.exec(b)![1]))
            .map((d) =>
                Date.parse(
                    JSON.parse(fs.readFileSync(path.join(stack.backupDir, "cvat", d, "manifest.json"), "utf8"))
                        .createdAt,
                ),
            );
        assert.ok(
            created.every((t, i) => i === 0 || t > created[i - 1]),
            "each restore point is newer than the previous one",
        );
        // The first pg15 volume and each later one are all still there, and still in the state.
        assert.deepStrictEqual(
            cvatVolumes().filter((v) => v.startsWith("cvat_cvat_db")),
            ["cvat_cvat_db", "cvat_cvat_db_pg15", "cvat_cvat_db_pg15_2", "cvat_cvat_db_pg15_3"],
        );
        const declared = (await stack.exported()).deployment.resources!.filter(
            (r) => r.type === "docker:index/volume:Volume",
        ).length;
        assert.strictEqual(declared, 7, "cvat_data, cvat_keys, cvat_logs, cvat_db and three pg15 volumes");
        await stack.preview(["--expect-no-changes"]);
    });
});
