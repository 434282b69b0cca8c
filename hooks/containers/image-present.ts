// `upshift image-present`: fails with the operator's fix when an image that no registry serves
// (e.g. KWDB 2.x/3.0, shipped as KaiwuDB.tar for `docker load`) is not on the Docker host, before
// the docker provider tries to pull it and reports a registry error instead.
import { HookCommand } from "../core/command";
import { docker } from "../core/docker";
import { HookError, parseOptions, requireFlags, runOperation } from "../core/report";

const OP = "image-present";

export const imagePresent: HookCommand = {
    name: OP,
    summary: "check that an image is on the Docker host; if not, say how to get it",
    usage: "usage: upshift image-present --image REF [--how TEXT]\n  Exit 1 with TEXT as the fix when REF is not on the Docker host (DOCKER_HOST).",
    run(argv) {
        const { values } = parseOptions(argv, { image: { type: "string" }, how: { type: "string" } });
        requireFlags(values, "image");
        return runOperation(OP, async () => {
            const r = await docker(["image", "inspect", "--format", "{{.Id}}", values.image!], { check: false });
            if (r.code !== 0) {
                const where = process.env.DOCKER_HOST ? ` ${process.env.DOCKER_HOST}` : "";
                throw new HookError(
                    `image ${values.image} is not on the Docker host${where}. ${values.how ?? "Pull or load it, or override it in config"}`,
                );
            }
            return { image: values.image, id: r.stdout.trim() };
        });
    },
};
