// One program evaluation under Pulumi mocks, in a fresh process (bench/run.ts starts one per size,
// so the memory measured is this size's alone): N CVAT components, each an upgrade 2.2.0 ->
// 2.40.0 (containers, images, volumes and the data steps), with distinct names. Prints one JSON line.
import type * as pulumiT from "@pulumi/pulumi";
import { performance } from "perf_hooks";

async function main(): Promise<void> {
    const n = Number(process.argv[2]);
    if (!Number.isInteger(n) || n < 1) throw new Error("usage: eval-child N");
    const rssStart = process.memoryUsage().rss;
    const t0 = performance.now();
    /* eslint-disable @typescript-eslint/no-var-requires */
    const mocks = require("../tests/unit/mocks") as typeof import("../tests/unit/mocks");
    mocks.setMocks();
    // Imported after setMocks, as the unit tests do.
    const pulumi = require("@pulumi/pulumi") as typeof pulumiT;
    const { Cvat } = require("../components/cvat") as typeof import("../components/cvat");
    const { cvatCatalog } = require("../catalog/cvat") as typeof import("../catalog/cvat");
    const { planChange } = require("../plan") as typeof import("../plan");
    const t1 = performance.now();
    const rssLoaded = process.memoryUsage().rss;

    const deployed = planChange({ catalog: cvatCatalog, to: "2.2.0" }).next;
    let resources = 0;
    const count: pulumiT.ResourceTransformation = () => {
        resources++;
        return undefined;
    };
    const last: InstanceType<typeof Cvat>[] = [];
    for (let i = 0; i < n; i++) {
        last.push(
            new Cvat(
                `cvat${i}`,
                {
                    version: "2.40.0",
                    deployed,
                    backupDir: `/srv/backups/cvat${i}`,
                    volumes: {
                        cvat_db: `cvat${i}_db`,
                        cvat_data: `cvat${i}_data`,
                        cvat_keys: `cvat${i}_keys`,
                        cvat_logs: `cvat${i}_logs`,
                    },
                    secrets: { dbPassword: pulumi.secret(`pw-${i}`) },
                },
                { transformations: [count] },
            ),
        );
    }
    // Every registration (and its mock answer) is done when the RPC queue is drained.
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    // And the last component's last resource has its id: everything before it resolved too.
    const steps = Object.values(last[last.length - 1].steps);
    if (steps.length)
        await new Promise<void>((res) =>
            steps[steps.length - 1].id.apply((v) => {
                res();
                return v;
            }),
        );
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    const t2 = performance.now();
    const mem = process.memoryUsage();
    process.stdout.write(
        JSON.stringify({
            n,
            resources,
            loadMs: t1 - t0,
            evalMs: t2 - t1,
            rssStart,
            rssLoaded,
            rssEnd: mem.rss,
            heapUsed: mem.heapUsed,
            maxRss: process.resourceUsage().maxRSS * 1024,
            steps: steps.length,
        }) + "\n",
    );
}

main().then(
    () => process.exit(0),
    (e: Error) => {
        process.stderr.write(`eval-child: ${e.stack ?? e.message}\n`);
        process.exit(1);
    },
);
