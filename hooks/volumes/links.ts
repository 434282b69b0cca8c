// Symbolic links that point out of a restored volume or directory (issue 12, bad input). A restore
// helper mounts only its target, so nothing outside it can be reached; but an archive whose entries
// go through such a link (`evil -> /etc`, then `evil/passwd`) is not a backup of a volume: GNU tar
// refuses those entries (it makes a placeholder for a link that points out and replaces it last),
// busybox tar writes them into the helper's own throwaway root, and the restore's file count then
// differs. Either way the restore fails, and this names the links, so the refusal says why.
// Links that point out without entries through them are restored as the source had them.
import * as path from "path";
import { Source } from "./archive";
import { docker, helperName, helperRunArgs } from "../core/docker";

/** True when a link at `link` (relative to the root) with target `to` resolves outside the root. */
export function pointsOut(link: string, to: string): boolean {
    if (path.posix.isAbsolute(to)) return true;
    // Relative throughout: an absolute normalize would clamp "/../x" to "/x".
    const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(path.posix.normalize(link)), to));
    return resolved === ".." || resolved.startsWith("../");
}

/** The links in `target` that point out of it, as `path -> target` (at most `limit`). */
export async function linksPointingOut(target: Source, image: string, limit = 10): Promise<string[]> {
    const mount =
        target.type === "dir"
            ? ["-v", `${target.name}:/dst:ro`]
            : ["--mount", `type=volume,src=${target.name},dst=/dst,readonly`];
    // NUL-free and shell-only (busybox or GNU): one line per link, its path and where it points.
    const script =
        'cd /dst && find . -type l | while IFS= read -r l; do printf "UPSHIFT-LINK %s\\t%s\\n" "$l" "$(readlink "$l")"; done';
    const r = await docker([...helperRunArgs(helperName("links")), ...mount, image, "sh", "-c", script], {
        check: false,
    });
    const out: string[] = [];
    for (const line of r.stdout.split("\n")) {
        const m = /^UPSHIFT-LINK (.*)\t(.*)$/.exec(line);
        if (m && pointsOut(m[1], m[2])) out.push(`${m[1].replace(/^\.\//, "")} -> ${m[2]}`);
    }
    return out.sort().slice(0, limit);
}
