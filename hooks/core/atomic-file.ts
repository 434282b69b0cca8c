// Publishing a file or a directory so that after a crash or power loss it is either wholly there
// or not there at all: write under a temporary name, fsync the data, rename, fsync the directory
// that holds the new name. The last step is the one easily forgotten: rename(2) is only durable
// once the directory is synced (fsync(2): "Calling fsync() does not necessarily ensure that the
// entry in the directory containing the file has also reached disk. For that an explicit fsync()
// on a file descriptor for the directory is also needed."). Every hook that publishes a file uses
// these, so there is one implementation to get right.
import * as fs from "fs";
import * as path from "path";

/** fsync of a directory (its entries: names created, renamed or removed in it). */
export function fsyncDir(dir: string): void {
    const fd = fs.openSync(dir, "r");
    try {
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
}

/** fsync of one existing regular file. */
export function fsyncFile(file: string): void {
    const fd = fs.openSync(file, "r");
    try {
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
}

/**
 * fsync of every regular file and directory under `dir` (itself included), children before their
 * directory: for trees written by other programs (tar -x, a download) that did not sync them.
 * Symlinks are not followed.
 */
export function fsyncTree(dir: string): void {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) fsyncTree(p);
        else if (e.isFile()) fsyncFile(p);
    }
    fsyncDir(dir);
}

/** rename(2), then fsync of the directories of both names (one when they are the same). */
export function renameDurable(from: string, to: string): void {
    fs.renameSync(from, to);
    fsyncDir(path.dirname(to));
    if (path.dirname(path.resolve(from)) !== path.dirname(path.resolve(to))) fsyncDir(path.dirname(from));
}

/**
 * Writes `data` to `file` atomically and durably: `<file>.tmp` (mode `mode`, 0600 by default:
 * what the hooks write is private to the owner), fsync, rename over `file`, fsync of the directory.
 * A failure (ENOSPC included) removes the temporary file, so nothing half-written keeps the disk full.
 */
export function publishFile(file: string, data: string | Uint8Array, mode = 0o600): void {
    const tmp = `${file}.tmp`;
    try {
        const fd = fs.openSync(tmp, "w", mode);
        try {
            fs.writeFileSync(fd, data);
            fs.fsyncSync(fd);
        } finally {
            fs.closeSync(fd);
        }
        // openSync's mode is filtered by the umask and ignored for an existing file: set it exactly.
        fs.chmodSync(tmp, mode);
        renameDurable(tmp, file);
    } catch (e) {
        fs.rmSync(tmp, { force: true });
        throw e;
    }
}

/** publishFile of a value as pretty JSON with a final newline (the state and manifest files). */
export function publishJson(file: string, value: unknown, mode = 0o600): void {
    publishFile(file, JSON.stringify(value, null, 2) + "\n", mode);
}

/**
 * Publishes a directory written under a temporary name (`<final>.partial`): every file and
 * directory in it is synced, then it is renamed to `final` and the parent is synced. With
 * `replace`, an existing `final` is removed first (only a complete tree replaces it: the caller
 * calls this once the new one is whole).
 */
export function publishDir(partial: string, final: string, opts: { replace?: boolean } = {}): void {
    fsyncTree(partial);
    if (opts.replace) fs.rmSync(final, { recursive: true, force: true });
    renameDurable(partial, final);
}
