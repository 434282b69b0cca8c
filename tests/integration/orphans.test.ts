// `upshift orphans` (hooks/containers/orphans.ts) on the REAL Docker engine, against states shaped as
// `pulumi stack export` writes them: it removes only the container a killed create of this stack
// left, and never one the state knows, another stack's, or one without upshift's labels. The
// whole procedure after a killed `pulumi up`, under the real engine, is the fault matrix's "DB
// replacement" row (tests/e2e/faults.e2e.test.ts).
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { dockerSync, okJson, runPrefix, upshift } from "./hooks-util";
import { TEST_IMAGES } from "./setup";

const STACK = "upshift/itest";
const urn = (name: string, type = "docker:index/container:Container") =>
    `urn:pulumi:itest::upshift::upshift:cvat:Cvat$${type}::${name}`;
const STACK_URN = "urn:pulumi:itest::upshift::pulumi:pulumi:Stack::upshift-itest";

describe("integration: upshift orphans, real Docker engine", function () {
    this.timeout(180000);
    const prefix = runPrefix("orph");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-orphans-"));
    const made: string[] = [];

    /** A running container named PREFIX-name with these labels; returns its full id. */
    function make(name: string, labels: Record<string, string>): string {
        const id = dockerSync([
            "run",
            "-d",
            "--name",
            `${prefix}-${name}`,
            ...Object.entries(labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
            TEST_IMAGES.tools,
            "sleep",
            "600",
        ]).trim();
        made.push(id);
        return id;
    }
    const exists = (id: string) => dockerSync(["ps", "-aq", "--no-trunc", "--filter", `id=${id}`]).trim() !== "";
    function state(resources: { urn: string; id?: string }[], pending: { urn: string; type: string }[] = []): string {
        const file = path.join(dir, `state-${Math.random().toString(16).slice(2)}.json`);
        fs.writeFileSync(
            file,
            JSON.stringify({
                version: 3,
                deployment: {
                    resources: [
                        { urn: STACK_URN, type: "pulumi:pulumi:Stack" },
                        ...resources.map((r) => ({ ...r, custom: true, type: "docker:index/container:Container" })),
                    ],
                    pending_operations: pending.map((p) => ({
                        resource: { urn: p.urn, type: "docker:index/container:Container" },
                        type: p.type,
                    })),
                },
            }),
        );
        return file;
    }

    // Each case sees only its own containers.
    afterEach(() => {
        for (const id of made.splice(0))
            try {
                dockerSync(["rm", "-f", id]);
            } catch {
                /* gone */
            }
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("removes the container of a pending create (stopped, then removed), and leaves every other container as it was", async () => {
        const known = make("db-known", { "upshift.stack": STACK, "upshift.resource": "cvat-cvat_server" });
        const orphan = make("db", { "upshift.stack": STACK, "upshift.resource": "cvat-cvat_db" });
        const otherStack = make("db-prod", { "upshift.stack": "upshift/prod", "upshift.resource": "cvat-cvat_db" });
        const compose = make("db-compose", { "com.docker.compose.project": "cvat" });
        const file = state(
            [{ urn: urn("cvat-cvat_server"), id: known }],
            [{ urn: urn("cvat-cvat_db"), type: "creating" }],
        );

        // Without --remove it only says what it found.
        const listed = okJson(await upshift(["orphans", "--stack", STACK, "--state", file]));
        assert.deepStrictEqual(
            (listed.orphans as { id: string }[]).map((o) => o.id),
            [orphan],
        );
        assert.deepStrictEqual(listed.removed, []);
        assert.ok(exists(orphan), "listing removes nothing");

        const r = okJson(await upshift(["orphans", "--stack", STACK, "--state", file, "--remove", "--grace", "2"]));
        assert.deepStrictEqual(r.removed, [`${prefix}-db`]);
        assert.strictEqual(exists(orphan), false, "the orphan is gone");
        for (const id of [known, otherStack, compose]) {
            assert.strictEqual(
                dockerSync(["inspect", "-f", "{{.State.Status}}", id]).trim(),
                "running",
                `${id.slice(0, 12)} is untouched`,
            );
        }
    });

    it("a container whose resource the state does not list at all (its old self deleted before the create) is an orphan too", async () => {
        const orphan = make("redis", { "upshift.stack": STACK, "upshift.resource": "cvat-cvat_redis" });
        const file = state([{ urn: urn("cvat-cvat_opa"), id: "0".repeat(64) }]);
        const r = okJson(await upshift(["orphans", "--stack", STACK, "--state", file, "--remove", "--grace", "0"]));
        assert.deepStrictEqual(r.removed, [`${prefix}-redis`]);
        assert.strictEqual(exists(orphan), false);
    });

    it("a labelled container whose resource the state has with another id is reported as unexplained and left alone", async () => {
        const stray = make("opa", { "upshift.stack": STACK, "upshift.resource": "cvat-cvat_opa" });
        const file = state([{ urn: urn("cvat-cvat_opa"), id: "f".repeat(64) }]);
        const res = await upshift(["orphans", "--stack", STACK, "--state", file, "--remove"]);
        const r = okJson(res);
        assert.deepStrictEqual(r.removed, []);
        assert.deepStrictEqual(
            (r.unexplained as { id: string }[]).map((u) => u.id),
            [stray],
        );
        assert.match(res.stderr, /left alone; check it by hand/);
        assert.ok(exists(stray));
    });

    for (const [what, content, code, message] of [
        [
            "another stack's state",
            () =>
                JSON.stringify({
                    deployment: { resources: [{ urn: "urn:pulumi:prod::upshift::pulumi:pulumi:Stack::upshift-prod" }] },
                }),
            3,
            /is not the state of --stack upshift\/itest.*nothing was removed/,
        ],
        [
            "an empty state",
            () => JSON.stringify({ deployment: { resources: [] } }),
            3,
            /lists no resource at all.*nothing was removed/,
        ],
        ["not JSON", () => "Current stack is itest", 2, /--state .*: not JSON.*pulumi stack export/],
        ["no deployment", () => JSON.stringify({ version: 3 }), 2, /no "deployment" in it/],
    ] as const) {
        it(`refuses ${what} (exit ${code}), and removes nothing`, async () => {
            const orphan = make(`x-${code}-${what.length}`, {
                "upshift.stack": STACK,
                "upshift.resource": "cvat-cvat_db",
            });
            const file = path.join(dir, `bad-${what.length}.json`);
            fs.writeFileSync(file, content());
            const r = await upshift(["orphans", "--stack", STACK, "--state", file, "--remove"]);
            assert.strictEqual(r.code, code, r.stderr);
            assert.match(r.stderr, message);
            assert.ok(exists(orphan), "nothing removed");
        });
    }
});
