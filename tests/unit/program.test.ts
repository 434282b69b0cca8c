import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { setMocks, value } from "./mocks";

setMocks();
import { program } from "../../program";
import { ConfigError } from "../../config/schema";

/** Runs the whole program with this config and this stack's previous outputs. */
async function run(config: Record<string, string>, secretKeys: string[], previous: Record<string, unknown> = {}) {
    setMocks(previous);
    pulumi.runtime.setAllConfig(config, secretKeys);
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
        const second = await run({ "cvat:version": "2.3.0", "cvat:dbPassword": "pw" }, ["cvat:dbPassword"], { deployed: first });
        assert.strictEqual(second!.cvat!.version, "2.3.0");
        assert.strictEqual(second!.cvat!.previous, "2.2.0");
        assert.deepStrictEqual(second!.cvat!.volumes["cvat_db@pg15"], { name: "cvat_cvat_db_pg15", lastVersion: "2.3.0" });
        assert.deepStrictEqual(second!.cvat!.volumes["cvat_db@pg10"], { name: "cvat_cvat_db", lastVersion: "2.2.0" }, "the old volume stays on record");
        assert.deepStrictEqual(second!.cvat!.restorePoints, [{ version: "2.2.0", id: "2.2.0-to-2.3.0-restore-point" }]);
        const third = await run({ "cvat:version": "2.3.0", "cvat:dbPassword": "pw" }, ["cvat:dbPassword"], { deployed: second });
        assert.deepStrictEqual(third, second, "a rerun with nothing changed changes nothing");
    });

    it("bad config stops the program before any resource is registered", async () => {
        const registered: string[] = [];
        pulumi.runtime.setMocks({
            newResource: (a) => { registered.push(a.type); return { id: "x", state: a.inputs }; },
            call: (a) => a.inputs,
        }, "upshift", "dev", true, "organization");
        pulumi.runtime.setAllConfig({ "cvat:version": "2.3", "cvat:dbPassword": "pw" }, ["cvat:dbPassword"]);
        await assert.rejects(program(), (e: Error) => e instanceof ConfigError && /cvat:version "2\.3" is not a version/.test(e.message));
        assert.deepStrictEqual(registered, []);
    });
});
