// `upshift exec`: runs a command in a running container (e.g. CVAT's `python manage.py
// cleanuplegacyexportcache`), after waiting for it to be healthy. The command's output is a log:
// it goes to stderr, stdout keeps only the final JSON line (docs/hooks-cli.md).
import { finished } from "stream/promises";
import { HookCommand, UsageError } from "../core/command";
import { dockerStream, waitServing } from "../core/docker";
import { HookError, log, parseOptions, requireFlags, runOperation, scrubLines } from "../core/report";

const USAGE = `usage: upshift exec --container C [--wait-healthy SECONDS] -- CMD ARGS...
  Waits up to SECONDS for C to be running and healthy (or running, without a healthcheck),
  then runs CMD in it; its output goes to stderr.`;

export const exec: HookCommand = {
    name: "exec",
    summary: "run a command in a running container, waiting for it to be healthy first",
    usage: USAGE,
    run(argv) {
        const dd = argv.indexOf("--");
        if (dd < 0 || dd === argv.length - 1)
            throw new UsageError("give the command after --, e.g. -- python manage.py migrate");
        const { values } = parseOptions(argv.slice(0, dd), {
            container: { type: "string" },
            "wait-healthy": { type: "string" },
        } as const);
        const cmd = argv.slice(dd + 1);
        requireFlags(values, "container C");
        const wait = values["wait-healthy"] === undefined ? 0 : Number(values["wait-healthy"]);
        if (!Number.isFinite(wait) || wait < 0)
            throw new UsageError(`--wait-healthy ${values["wait-healthy"]}: expected a number of seconds`);
        return runOperation("exec", () => runExec(values.container!, wait, cmd));
    },
};

async function runExec(container: string, waitSeconds: number, cmd: string[]): Promise<Record<string, unknown>> {
    let announced = false;
    const waited = await waitServing(container, Date.now() + waitSeconds * 1000, (st) => {
        if (!announced) {
            log("exec", `waiting for ${container} to be healthy (${st.status}${st.health ? `, ${st.health}` : ""})`);
            announced = true;
        }
    });
    if (!waited.serving) {
        const st = waited.state;
        if (!st) throw new HookError(`container ${container} does not exist`);
        if (st.status === "exited" || st.status === "dead")
            throw new HookError(`container ${container} is ${st.status}, not running`);
        const how = st.status === "running" ? `still ${st.health}` : st.status;
        throw new HookError(
            `container ${container} is ${how}${waitSeconds ? ` after ${waitSeconds} s` : ""}; raise --wait-healthy or check its logs`,
        );
    }
    const started = Date.now();
    const p = dockerStream(["exec", container, ...cmd], { check: false });
    const outs = [p.stdout!, p.child.stderr!].map((s) => s.pipe(scrubLines()));
    for (const o of outs) o.pipe(process.stderr, { end: false });
    const r = await p.done;
    await Promise.all(outs.map((o) => finished(o)));
    if (r.code !== 0) throw new HookError(`${cmd[0]} in ${container} exited with status ${r.code}`);
    return { container, command: cmd[0], exitCode: 0, seconds: Math.round((Date.now() - started) / 100) / 10 };
}
