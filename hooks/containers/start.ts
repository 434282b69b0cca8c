// `upshift start`: the last step of every change. Starts each container of the new version that a
// step stopped and that the engine did not replace (same image and inputs: `restart:
// unless-stopped` does not bring back a container stopped by hand, and the docker provider starts
// none that it did not create; docs/pulumi.md), then waits until every one runs and is healthy.
import { HookCommand, UsageError } from "../core/command";
import { clearStopped } from "../core/stop-restart";
import { containerState, docker, startContainer, waitServing } from "../core/docker";
import { HookError, log, parseOptions, runOperation, splitList } from "../core/report";

const USAGE = `usage: upshift start --container C1,C2 [--optional-container C3] [--wait-healthy SECONDS]
  Starts each stopped container, then waits up to SECONDS (default 600) until all run and are
  healthy (or run, without a healthcheck). A missing --container is an error; a missing
  --optional-container (a service not enabled) is skipped.`;

export const start: HookCommand = {
    name: "start",
    summary: "start the containers a step stopped, and wait until they run and are healthy",
    usage: USAGE,
    run(argv) {
        const { values } = parseOptions(argv, {
            container: { type: "string", multiple: true },
            "optional-container": { type: "string", multiple: true },
            "wait-healthy": { type: "string" },
        } as const);
        const required = splitList(values.container);
        const optional = splitList(values["optional-container"]);
        if (!required.length && !optional.length) throw new UsageError("--container C1,C2 is required");
        const wait = values["wait-healthy"] === undefined ? 600 : Number(values["wait-healthy"]);
        if (!Number.isFinite(wait) || wait < 0)
            throw new UsageError(`--wait-healthy ${values["wait-healthy"]}: expected a number of seconds`);
        return runOperation("start", () => startAll(required, optional, wait));
    },
};

async function startAll(required: string[], optional: string[], waitSeconds: number): Promise<Record<string, unknown>> {
    const started: string[] = [],
        running: string[] = [],
        skipped: string[] = [];
    const present: string[] = [];
    for (const [c, isOptional] of [
        ...required.map((c) => [c, false] as const),
        ...optional.map((c) => [c, true] as const),
    ]) {
        const st = await containerState(c);
        if (!st) {
            if (isOptional) {
                skipped.push(c);
                continue;
            }
            throw new HookError(`container ${c} does not exist; run \`pulumi up\` again to create it`);
        }
        present.push(c);
        if (st.status === "paused") {
            await docker(["unpause", c]);
            started.push(c);
            continue;
        }
        if (st.status === "running" || st.status === "restarting") {
            running.push(c);
            continue;
        }
        log("start", `starting ${c} (${st.status})`);
        const why = await startContainer(c);
        if (why !== undefined)
            throw new HookError(`container ${c} could not be started (${why}); check \`docker logs ${c}\``);
        started.push(c);
    }
    // Every present container must end up running and healthy: a writer that does not come back is
    // reported, never left for the operator to find.
    const deadline = Date.now() + waitSeconds * 1000;
    for (const c of present) {
        const r = await waitServing(c, deadline);
        if (r.serving) continue;
        const st = r.state;
        if (!st) throw new HookError(`container ${c} disappeared while starting`);
        if (st.status === "exited" || st.status === "dead")
            throw new HookError(`container ${c} is ${st.status} after \`docker start\`; check \`docker logs ${c}\``);
        throw new HookError(
            `container ${c} is ${st.status}${st.health ? `, ${st.health}` : ""} after ${waitSeconds} s; check \`docker logs ${c}\``,
        );
    }
    // Started and serving: off the ledger of containers upshift stopped (hooks/core/stop-restart.ts).
    clearStopped(present);
    return { started, alreadyRunning: running, skipped };
}
