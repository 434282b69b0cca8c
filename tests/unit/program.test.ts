import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { setMocks, value } from "./mocks";

setMocks();
import { program } from "../../program";
import { ConfigError } from "../../config/schema";

// An update (not a preview) writes each attempt's volume ledger into the backup directory: never
// the user's own, and a fresh one per test (each test is a stack of its own).
let BACKUPS = "";
beforeEach(() => {
    BACKUPS = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-program-test-"));
});
afterEach(() => fs.rmSync(BACKUPS, { recursive: true, force: true }));

/** Runs the whole program with this config and this stack's previous outputs. */
async function run(config: Record<string, string>, secretKeys: string[], previous: Record<string, unknown> = {}) {
    // Not a preview: the audit entry waits for the backup step's report, which a preview cannot know.
    setMocks(previous, false);
    pulumi.runtime.setAllConfig({ "upshift:backupDir": BACKUPS, ...config }, secretKeys);
    const out = await program();
    return value(out.deployed);
}

describe("program (Pulumi mocks)", () => {
    it("a first run installs and exports the deployed record", async () => {
        const deployed = await run({ "cvat:version": "2.2.0", "cvat:dbPassword": "pw" }, ["cvat:dbPassword"]);
        assert.strictEqual(deployed!.cvat!.version, "2.2.0");
        assert.deepStrictEqual(deployed!.cvat!.volumes["cvat_db@pg10"], { name: "cvat_cvat_db", lastVersion: "2.2.0" });
    });

    it("the next run reads the previous record through the StackReference and upgrades from it", async () => {
        const first = await run({ "cvat:version": "2.2.0", "cvat:dbPassword": "pw" }, ["cvat:dbPassword"]);
        const second = await run({ "cvat:version": "2.3.0", "cvat:dbPassword": "pw" }, ["cvat:dbPassword"], {
            deployed: first,
        });
        assert.strictEqual(second!.cvat!.version, "2.3.0");
        assert.strictEqual(second!.cvat!.previous, "2.2.0");
        assert.deepStrictEqual(second!.cvat!.volumes["cvat_db@pg15"], {
            name: "cvat_cvat_db_pg15",
            lastVersion: "2.3.0",
        });
        assert.deepStrictEqual(
            second!.cvat!.volumes["cvat_db@pg10"],
            { name: "cvat_cvat_db", lastVersion: "2.2.0" },
            "the old volume stays on record",
        );
        assert.deepStrictEqual(second!.cvat!.restorePoints, [
            { version: "2.2.0", id: "2.2.0-to-2.3.0-a1-restore-point" },
        ]);
        const third = await run({ "cvat:version": "2.3.0", "cvat:dbPassword": "pw" }, ["cvat:dbPassword"], {
            deployed: second,
        });
        assert.deepStrictEqual(third, second, "a rerun with nothing changed changes nothing");
    });

    it("each change leaves an audit entry (versions, steps, backup ids) with no secret in it", async () => {
        const secret = "audit-Secret-value-7731";
        const first = await run({ "cvat:version": "2.2.0", "cvat:dbPassword": secret }, ["cvat:dbPassword"]);
        assert.deepStrictEqual(first!.cvat!.history, [{ kind: "install", to: "2.2.0", steps: [], backups: [] }]);
        const second = await run({ "cvat:version": "2.3.0", "cvat:dbPassword": secret }, ["cvat:dbPassword"], {
            deployed: first,
        });
        const entry = second!.cvat!.history![1];
        assert.deepStrictEqual([entry.kind, entry.from, entry.to], ["upgrade", "2.2.0", "2.3.0"]);
        assert.deepStrictEqual(entry.steps, [
            "preflight",
            "restore-point",
            "verify-restore-point",
            "prune-restore-point",
            "pg-migrate",
            "start",
            "pg-analyze",
        ]);
        assert.deepStrictEqual(entry.backups, ["cvat/2.2.0-to-2.3.0-a1-restore-point"]);
        assert.deepStrictEqual(entry.archives, [{ name: "cvat_cvat_db", bytes: 10, sha256: "ab".repeat(32) }]);
        assert.strictEqual(entry.at, "2026-11-22T12:00:00.000Z");
        assert.ok(!JSON.stringify(second).includes(secret), "the deployed record holds no secret");
    });

    it("with upshift:s3 and no AWS plugin where downloads are off, nothing is registered and the error names the plugin and the fix", async () => {
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-pulumi-home-"));
        const saved = { h: process.env.PULUMI_HOME, d: process.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION };
        process.env.PULUMI_HOME = home;
        process.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION = "true";
        const types: string[] = [];
        try {
            pulumi.runtime.setMocks(
                {
                    newResource: (a) => {
                        types.push(a.type);
                        return { id: `${a.name}-id`, state: { ...a.inputs, outputs: {} } };
                    },
                    call: (a) => a.inputs,
                },
                "upshift",
                "dev",
                true,
                "organization",
            );
            pulumi.runtime.setAllConfig(
                { "cvat:version": "2.2.0", "cvat:dbPassword": "pw", "upshift:s3": '{"bucket":"acme-cvat-backups"}' },
                ["cvat:dbPassword"],
            );
            await assert.rejects(
                program(),
                (e: Error) =>
                    e instanceof ConfigError &&
                    e.message.includes(
                        "upshift:s3 is set, so the AWS provider plugin 7.48.0 is needed, and it is not installed",
                    ) &&
                    e.message.includes("Fix: pulumi plugin install resource aws 7.48.0"),
            );
            assert.deepStrictEqual(types, [], "nothing registered");
            fs.mkdirSync(path.join(home, "plugins", "resource-aws-v7.48.0"), { recursive: true });
            await program();
        } finally {
            process.env.PULUMI_HOME = saved.h;
            if (saved.h === undefined) delete process.env.PULUMI_HOME;
            process.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION = saved.d;
            if (saved.d === undefined) delete process.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION;
            fs.rmSync(home, { recursive: true, force: true });
        }
    });

    it("with upshift:s3 the bucket is managed and every restore point is pushed after its verify, then pruned", async () => {
        const types: string[] = [];
        const creates: string[] = [];
        pulumi.runtime.setMocks(
            {
                newResource: (a) => {
                    types.push(a.type);
                    if (a.type === "command:local:Command") creates.push(`${a.name}: ${a.inputs.create}`);
                    return {
                        id: `${a.name}-id`,
                        state: { ...a.inputs, ...(a.type === "pulumi:pulumi:StackReference" ? { outputs: {} } : {}) },
                    };
                },
                call: (a) => a.inputs,
            },
            "upshift",
            "dev",
            true,
            "organization",
        );
        pulumi.runtime.setAllConfig(
            {
                "cvat:version": "2.3.0",
                "cvat:dbPassword": "pw",
                "upshift:s3": '{"bucket":"acme-cvat-backups","create":true,"prefix":"site1"}',
                "upshift:retention": '{"keep":3}',
                "upshift:backupDir": "/srv/b",
            },
            ["cvat:dbPassword"],
        );
        await program();
        await new Promise((r) => setTimeout(r, 200));
        for (const t of [
            "aws:s3/bucket:Bucket",
            "aws:s3/bucketVersioning:BucketVersioning",
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        ]) {
            assert.ok(types.includes(t), `${t} registered`);
        }
        assert.deepStrictEqual(creates, [], "a fresh install runs no step");
        const plan = (await import("../../plan")).planChange({
            catalog: (await import("../../catalog/cvat")).cvatCatalog,
            to: "2.3.0",
            deployed: (await import("../../plan")).planChange({
                catalog: (await import("../../catalog/cvat")).cvatCatalog,
                to: "2.2.0",
            }).next,
            backupPolicy: { offsite: true, keep: 3 },
        });
        assert.deepStrictEqual(plan.steps.map((x) => x.id).slice(0, 5), [
            "preflight",
            "restore-point",
            "verify-restore-point",
            "push-restore-point",
            "prune-restore-point",
        ]);
    });

    it("bad config stops the program before any resource is registered", async () => {
        const registered: string[] = [];
        pulumi.runtime.setMocks(
            {
                newResource: (a) => {
                    registered.push(a.type);
                    return { id: "x", state: a.inputs };
                },
                call: (a) => a.inputs,
            },
            "upshift",
            "dev",
            true,
            "organization",
        );
        pulumi.runtime.setAllConfig({ "cvat:version": "2.3", "cvat:dbPassword": "pw" }, ["cvat:dbPassword"]);
        await assert.rejects(
            program(),
            (e: Error) => e instanceof ConfigError && /cvat:version "2\.3" is not a version/.test(e.message),
        );
        assert.deepStrictEqual(registered, []);
    });
});
