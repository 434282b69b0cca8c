// A private KWDB server for kwdb-export: the product's container is stopped (no client can write
// any more) and the same image runs once more on the same volumes (`--volumes-from`), with the same
// command, privileges, IPC mode and ulimits, but with no network (`--network none`): only our
// `docker exec ... kwbase sql` reaches it. So the census, the export and the second census see
// exactly the same data, and nothing written by a client can be missing from the export.
import { docker } from "../core/docker";
import { KwdbTarget, sql } from "./common";
import { HookError, log } from "../core/report";

/** The name of the private server for a container (fixed: a rerun removes a leftover one). */
export const privateName = (container: string) => `upshift-kwdb-private-${container}`;

interface Inspected {
    Image: string;
    Config: { Entrypoint: string[] | null; Cmd: string[] | null; WorkingDir?: string; User?: string };
    HostConfig: {
        Privileged?: boolean;
        IpcMode?: string;
        Ulimits?: { Name: string; Soft: number; Hard: number }[] | null;
        ShmSize?: number;
    };
}

/** The exact `docker run` argv of the private server for `container`, from its inspect JSON. */
export function privateRunArgs(container: string, inspected: Inspected): string[] {
    const c = inspected.Config;
    const h = inspected.HostConfig;
    const [entry, ...entryArgs] = c.Entrypoint ?? [];
    const ipc =
        h.IpcMode && h.IpcMode !== "private" && !h.IpcMode.startsWith("container:") ? [`--ipc=${h.IpcMode}`] : [];
    return [
        "run",
        "-d",
        "--name",
        privateName(container),
        "--label",
        "upshift.helper=true",
        "--label",
        `upshift.kwdb-private-of=${container}`,
        "--network",
        "none",
        "--volumes-from",
        container,
        ...(h.Privileged ? ["--privileged"] : []),
        ...ipc,
        ...(h.ShmSize ? [`--shm-size=${h.ShmSize}`] : []),
        ...(h.Ulimits ?? []).map((u) => `--ulimit=${u.Name}=${u.Soft}:${u.Hard}`),
        ...(c.WorkingDir ? ["-w", c.WorkingDir] : []),
        ...(c.User ? ["-u", c.User] : []),
        ...(entry !== undefined ? ["--entrypoint", entry] : []),
        inspected.Image,
        ...entryArgs,
        ...(c.Cmd ?? []),
    ];
}

/**
 * Removes a private server left by an earlier, interrupted run (only ours: fixed name and label).
 * True when there was one: that run had stopped the container.
 */
export async function removePrivate(container: string): Promise<boolean> {
    const name = privateName(container);
    const r = await docker(
        ["container", "inspect", "--format", '{{index .Config.Labels "upshift.kwdb-private-of"}}', name],
        { check: false },
    );
    if (r.code !== 0) return false;
    if (r.stdout.trim() !== container)
        throw new HookError(
            `a container named ${name} exists and is not upshift's private server for ${container}; remove or rename it`,
        );
    await docker(["rm", "-f", name]);
    return true;
}

/**
 * Starts the private server on `container`'s volumes (the container must be stopped) and waits until
 * it answers SQL. Returns the target to run SQL on.
 */
export async function startPrivate(op: string, t: KwdbTarget, seconds: number): Promise<KwdbTarget> {
    const r = await docker(["container", "inspect", "--format", "{{json .}}", t.container]);
    const argv = privateRunArgs(t.container, JSON.parse(r.stdout) as Inspected);
    log(op, `starting a private server on ${t.container}'s volumes with no network (${privateName(t.container)})`);
    await docker(argv);
    const p: KwdbTarget = { container: privateName(t.container), certsDir: t.certsDir };
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        try {
            await sql(p, "SELECT 1");
            return p;
        } catch (e) {
            // Only "not up yet" is waited for; a wrong mode or certificate fails at once.
            if (
                !/connection refused|cannot dial|not ready|unavailable|starting up|initializ/i.test(
                    (e as Error).message,
                )
            )
                throw e;
            if (Date.now() >= deadline)
                throw new HookError(
                    `the private KWDB server ${p.container} does not answer SQL after ${seconds} s (${(e as Error).message}); check \`docker logs ${p.container}\``,
                );
        }
        await new Promise((res) => setTimeout(res, 1000));
    }
}
