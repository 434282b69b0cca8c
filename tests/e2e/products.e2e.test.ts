// ClearML Server and KWDB under the REAL Pulumi engine (file backend) on the REAL Docker engine.
// STAND-INS: the docker and command provider plugins (tests/e2e/standins/README.md) and every
// vendor image (app-standin.sh answers the catalogs' health checks): Mongo, Elasticsearch, ClearML
// and KWDB cannot run here. What is shown for real: the engine loads and runs the program for these
// products, a fresh install's preview lists every container, and an upgrade's preview lists the
// planner's steps in the planner's order. Not shown here: `pulumi up`. Elasticsearch and KWDB run
// with the vendor's `memlock: -1` ulimit, and this sandbox's Docker refuses it ("error setting
// rlimit type 8: operation not permitted"), so the stack that previews the upgrade has its
// `deployed` record imported (ClearML's `pulumi up` runs in tests/e2e/adoption.e2e.test.ts, with
// the stand-in provider's ulimit caps; KWDB's privileged container cannot start here at all). Also: upshift:s3 without an AWS plugin stops with its name and the fix.
import * as assert from "assert";
import * as path from "path";
import { clearmlCatalog } from "../../catalog/clearml";
import { kwdbCatalog } from "../../catalog/kwdb";
import { ProductCatalog } from "../../catalog/types";
import { planChange } from "../../plan";
import { dk, dkQuiet, E2EStack, standin } from "./harness";

interface PreviewJson {
    steps: { op: string; urn: string }[];
    diagnostics?: { message: string }[];
}

/** Every image the catalog names for these versions, mapped to the stand-in tagged with the version. */
function imagesFor(catalog: ProductCatalog, versions: string[]): Record<string, string> {
    const map: Record<string, string> = {};
    for (const v of versions) for (const s of catalog.services(v)) map[s.image] ??= standin(`${catalog.product}-${v}`);
    return map;
}

function removeContainers(names: string[], network: string): void {
    for (const c of names) dkQuiet(["rm", "-f", c]);
    dkQuiet(["network", "rm", network]);
}

/** The step Commands of a preview, in the engine's order, by step id. */
const stepOrder = (pv: PreviewJson, from: string, to: string) =>
    pv.steps
        .filter((s) => s.urn.includes("command:local:Command") && !s.urn.endsWith("-adopt-check"))
        .map((s) => s.urn.replace(new RegExp(`^.*-${from.replace(/\./g, "\\.")}-to-${to.replace(/\./g, "\\.")}-`), ""));

/**
 * The fresh install's preview (every container, no step); then, from a stack whose `deployed`
 * record says `from` (imported: the containers cannot start here), the upgrade's preview.
 */
async function freshThenUpgradePreview(
    stack: E2EStack,
    catalog: ProductCatalog,
    from: string,
    to: string,
    services: string[],
    adoptCheck: boolean,
): Promise<void> {
    const fresh = JSON.parse((await stack.preview(["--json"])).stdout) as PreviewJson;
    assert.deepStrictEqual(stepOrder(fresh, from, to), [], "a fresh install runs no step");
    // ... but the check of the data it adopts, where config names it (tests/e2e/adoption.e2e.test.ts).
    assert.strictEqual(
        fresh.steps.some((s) => s.op === "create" && s.urn.endsWith(`::${catalog.product}-adopt-check`)),
        adoptCheck,
        "the adoption check",
    );
    const created = fresh.steps
        .filter((s) => s.op === "create" && s.urn.includes("docker:index/container:Container::"))
        .map((s) => s.urn.replace(/^.*::[a-z]+-/, ""))
        .sort();
    assert.deepStrictEqual(created, [...services].sort(), "every container of the release");
    const deployed = planChange({ catalog, to: from }).next;
    await stack.importDeployed({ [catalog.product]: deployed });
    await stack.config(`${catalog.product}:version`, to);
    const pv = JSON.parse((await stack.preview(["--json"])).stdout) as PreviewJson;
    const plan = planChange({ catalog, to, deployed, backupPolicy: { offsite: false, keep: 5 } });
    assert.deepStrictEqual(
        stepOrder(pv, from, to),
        plan.steps.map((s) => s.id),
        "the engine runs the planner's steps in the planner's order",
    );
    assert.match(
        (pv.diagnostics ?? []).map((d) => d.message).join("\n"),
        new RegExp(
            `${catalog.product} ${from.replace(/\./g, "\\.")} -> ${to.replace(/\./g, "\\.")} \\(upgrade\\): ${plan.steps.length} steps`,
        ),
    );
    await stack.config(`${catalog.product}:version`, from);
}

describe("e2e: ClearML Server with the real Pulumi engine and Docker; stand-in providers and images (Mongo, Elasticsearch, ClearML cannot run here)", function () {
    this.timeout(20 * 60 * 1000);
    const stack = new E2EStack("e2e-clearml");
    const catalog = clearmlCatalog(path.join(stack.dir, "opt-clearml"));
    const names = catalog
        .services("1.16.0")
        .filter((s) => !s.optional)
        .map((s) => s.name);
    before(async () => {
        removeContainers([...names, ...catalog.services("1.17.0").map((s) => s.name)], "upshift_clearml");
        await stack.init();
        stack.writeConfig([
            `upshift:backupDir: ${stack.backupDir}`,
            `upshift:helperImage: upshift-test/tools:latest`,
            "clearml:version: 1.16.0",
            `clearml:dataDir: ${path.join(stack.dir, "opt-clearml")}`,
            "clearml:images:",
            ...Object.entries(imagesFor(catalog, ["1.16.0", "1.17.0"])).map(([k, v]) => `  ${JSON.stringify(k)}: ${v}`),
        ]);
    });
    after(() => {
        removeContainers(names, "upshift_clearml");
        stack.cleanup();
    });

    it("the preview of a fresh 1.16.0 lists every container and no step but the adoption check (clearml:dataDir is set); the 1.16.0 -> 1.17.0 preview lists the planner's steps in order", async () => {
        await freshThenUpgradePreview(stack, catalog, "1.16.0", "1.17.0", names, true);
    });
});

describe("e2e: KWDB with the real Pulumi engine and Docker; stand-in providers and image (KWDB cannot run here)", function () {
    this.timeout(20 * 60 * 1000);
    const stack = new E2EStack("e2e-kwdb");
    const names = kwdbCatalog.services("3.1.0").map((s) => s.name);
    before(async () => {
        removeContainers(names, "upshift_kwdb");
        for (const v of dk(["volume", "ls", "-q", "--filter", "name=kwdb_"]).split("\n").filter(Boolean))
            dk(["volume", "rm", "-f", v]);
        await stack.init();
        stack.writeConfig([
            `upshift:backupDir: ${stack.backupDir}`,
            `upshift:helperImage: upshift-test/tools:latest`,
            "kwdb:version: 3.1.0",
            "kwdb:ports:",
            "  sql: 36257",
            "  http: 38080",
            "  brpc: 37257",
            "kwdb:images:",
            ...Object.entries(imagesFor(kwdbCatalog, ["3.1.0", "3.2.1"])).map(
                ([k, v]) => `  ${JSON.stringify(k)}: ${v}`,
            ),
        ]);
    });
    after(() => {
        removeContainers(names, "upshift_kwdb");
        for (const v of dk(["volume", "ls", "-q", "--filter", "name=kwdb_"]).split("\n").filter(Boolean))
            dkQuiet(["volume", "rm", "-f", v]);
        stack.cleanup();
    });

    it("the preview of a fresh 3.1.0 lists the container and no step; the 3.1.0 -> 3.2.1 preview lists the planner's steps in order", async () => {
        await freshThenUpgradePreview(stack, kwdbCatalog, "3.1.0", "3.2.1", names, false);
    });

    it("upshift:s3 with no AWS plugin installed (downloads off): the preview stops before anything, naming the plugin and the fix", async () => {
        await stack.config("upshift:s3", '{"bucket":"acme-kwdb-backups"}', { path: false });
        const pv = await stack.preview([], { allowFail: true });
        assert.notStrictEqual(pv.code, 0);
        assert.match(
            pv.stdout + pv.stderr,
            /upshift:s3 is set, so the AWS provider plugin 7\.48\.0 is needed, and it is not installed/,
        );
        assert.match(pv.stdout + pv.stderr, /Fix: pulumi plugin install resource aws 7\.48\.0/);
        await stack.pulumi(stack.stackArgs("config", "rm", "upshift:s3"));
    });
});
