// `upshift stop`: stops the containers that write to the data before a migration; they are
// replaced next, so a container that is already gone is fine (docs/hooks-cli.md).
import { HookCommand, UsageError } from "./command";
import { containerState, stopContainer } from "./docker";
import { log, parseOptions, runOperation, splitList } from "./report";

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
            const stopped: string[] = [], alreadyStopped: string[] = [], missing: string[] = [];
            for (const c of names) {
                const st = await containerState(c);
                if (!st) { missing.push(c); continue; }
                if (st.status !== "running" && st.status !== "restarting" && st.status !== "paused") { alreadyStopped.push(c); continue; }
                log("stop", `stopping ${c}`);
                await stopContainer(c);
                stopped.push(c);
            }
            return { stopped, alreadyStopped, missing };
        });
    },
};
