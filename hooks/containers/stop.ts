// hooks/containers/: operations on the product's containers and images themselves, not on their
// data: stop, start, exec (manage.py and the like), orphans (what a killed run left), adopt-check
// and image-present. They use core/ only.
//
// `upshift stop`: stops the containers that write to the data before a migration; they are
// replaced next, so a container that is already gone is fine (docs/hooks-cli.md).
import { HookCommand, UsageError } from "../core/command";
import { Writers } from "../core/stop-restart";
import { containerState } from "../core/docker";
import { parseOptions, runOperation, splitList } from "../core/report";

const USAGE = `usage: upshift stop --container C1,C2 [--container C3]...
  Stops each running container (clean shutdown, up to 120 s); missing or stopped ones are fine.`;

export const stop: HookCommand = {
    name: "stop",
    summary: "stop the containers that write to the data (missing ones are fine)",
    usage: USAGE,
    run(argv) {
        const { values } = parseOptions(argv, { container: { type: "string", multiple: true } } as const);
        const names = splitList(values.container);
        if (!names.length) throw new UsageError("--container C1,C2 is required");
        return runOperation("stop", async () => {
            const before = await Promise.all(names.map(async (c) => ({ c, st: await containerState(c) })));
            const writers = new Writers("stop", names);
            // Interrupted while stopping: what was stopped is started again (the step failed; its
            // rerun stops them again). Done: they stay stopped, on the ledger, until replaced or started.
            await writers.stop();
            writers.keepStopped();
            const stopped = [...writers.stopped];
            const missing = before.filter((b) => !b.st).map((b) => b.c);
            const alreadyStopped = before.filter((b) => b.st && !stopped.includes(b.c)).map((b) => b.c);
            return { stopped, alreadyStopped, missing };
        });
    },
};
