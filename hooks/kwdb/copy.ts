// Moving an export between a KWDB container and the backup dir as a tar stream through `docker cp`
// (works the same with a remote ssh:// DOCKER_HOST), with progress on stderr. Data never passes
// through our stdout.
import { pipeline } from "stream/promises";
import { dockerStream, startProcess } from "../core/docker";
import { Progress } from "../core/progress";

/** `docker cp C:SRC - | tar -x -C DEST`: DEST gets SRC's basename as a directory. */
export async function copyOut(container: string, src: string, dest: string, label: string): Promise<number> {
    const from = dockerStream(["cp", `${container}:${src}`, "-"]);
    // --ignore-zeros: read to the end of the stream; GNU tar would otherwise stop at the end-of-archive
    // marker, close the pipe early and fail the copy on the record padding that follows.
    const into = startProcess("tar", ["-x", "--ignore-zeros", "-C", dest], { stdin: "pipe", stdout: "ignore" });
    return pump(from, into, label);
}

/** `tar -c -C SRC . | docker cp - C:DEST`: the contents of SRC land in DEST (which must exist). */
export async function copyIn(src: string, container: string, dest: string, label: string): Promise<number> {
    const from = startProcess("tar", ["-c", "-C", src, "."]);
    const into = dockerStream(["cp", "-", `${container}:${dest}`], { stdin: "pipe", stdout: "ignore" });
    return pump(from, into, label);
}

async function pump(
    from: ReturnType<typeof startProcess>,
    into: ReturnType<typeof startProcess>,
    label: string,
): Promise<number> {
    const progress = new Progress(label);
    try {
        await Promise.all([pipeline(from.stdout!, progress.meter(), into.stdin!), from.done, into.done]);
    } catch (e) {
        from.child.kill("SIGKILL");
        into.child.kill("SIGKILL");
        await Promise.allSettled([from.done, into.done]);
        throw e;
    }
    return progress.done();
}
