// `upshift orphans`: the containers a killed `pulumi up` created and never recorded.
//
// The engine saves a pending "creating" operation before it calls the provider's Create, and the
// provider makes the container at once; a CLI killed before Create returns leaves a container
// the state does not know (pkg/resource/deploy/step.go `CreateStep.Apply`; pkg/backend/snapshot.go
// keeps pending creates across updates). The rerun's Create then fails on every run ("Conflict.
// The container name ... is already in use"), and the orphan runs meanwhile on the new data
// volume with the service's network alias (docs/reliability.md). The README's procedure after a
// killed run gives this operation the stack's state (`pulumi stack export`) before it clears the
// pending creates.
//
// Every container upshift's stack makes carries `upshift.stack` and `upshift.resource` labels
// (components/product.ts). An orphan is a container with this stack's label whose id the state
// does not have, made as a resource that the state lists as a pending create or does not list at
// all. Any other container with the label whose id is unknown is reported, never removed; nothing
// without the label is ever looked at.
import * as fs from "fs";
import { HookCommand, UsageError } from "../core/command";
import { docker } from "../core/docker";
import { HookError, log, parseOptions, RefusedError, runOperation } from "../core/report";

/** The labels components/product.ts puts on every container: the stack and the resource that made it. */
export const STACK_LABEL = "upshift.stack";
export const RESOURCE_LABEL = "upshift.resource";
export const IDENTITY_LABELS = [STACK_LABEL, RESOURCE_LABEL] as const;

const USAGE = `usage: upshift orphans --stack PROJECT/STACK --state FILE|- [--remove] [--grace SECONDS]
  Lists the containers labelled as made by PROJECT/STACK that the stack's state (FILE: the output
  of \`pulumi stack export\`; - reads it from stdin) does not know, and that a killed create left
  (their resource is a pending create in the state, or not in it at all). --remove stops each
  (SECONDS, default 120, to shut down cleanly) and removes it; a container's data is in volumes,
  which are never touched. Run it after a killed \`pulumi up\`, before
  \`pulumi refresh --clear-pending-creates\` (README, "If pulumi up itself was killed").`;

interface ExportedResource {
    urn?: string;
    type?: string;
    id?: string;
    custom?: boolean;
}
interface Exported {
    deployment?: {
        resources?: ExportedResource[];
        pending_operations?: { resource?: ExportedResource; type?: string }[];
    };
}

/** What the state says: the container ids it has, the resource names it lists, and those being created. */
export interface StateFacts {
    readonly ids: Set<string>;
    readonly names: Set<string>;
    readonly creating: Set<string>;
}

/** The last `::` part of a URN: the resource's name. */
const urnName = (urn: string | undefined) => (urn ?? "").split("::").pop() ?? "";

/** Reads an exported state, refusing one that is not PROJECT/STACK's. */
export function stateFacts(text: string, stack: string, source: string): StateFacts {
    let exported: Exported;
    try {
        exported = JSON.parse(text) as Exported;
    } catch (e) {
        throw new UsageError(
            `--state ${source}: not JSON (${(e as Error).message}); give the output of \`pulumi stack export --stack STACK\``,
        );
    }
    const d = exported?.deployment;
    if (!d || typeof d !== "object")
        throw new UsageError(
            `--state ${source}: no "deployment" in it; give the output of \`pulumi stack export --stack STACK\``,
        );
    const [project, name] = stack.split("/");
    const prefix = `urn:pulumi:${name}::${project}::`;
    const resources = d.resources ?? [];
    const pending = d.pending_operations ?? [];
    // Another stack's or project's state would make every container of this one look unknown.
    const theirs = [...resources.map((r) => r.urn), ...pending.map((p) => p.resource?.urn)].filter(
        (u): u is string => !!u,
    );
    if (!theirs.length)
        throw new RefusedError(
            `--state ${source} lists no resource at all: an empty state cannot tell an orphan from a container in use; nothing was removed`,
        );
    const foreign = theirs.find((u) => !u.startsWith(prefix));
    if (foreign)
        throw new RefusedError(
            `--state ${source} is not the state of --stack ${stack} (it has ${foreign}); give \`pulumi stack export --stack ${name}\` of project ${project}; nothing was removed`,
        );
    return {
        ids: new Set(resources.filter((r) => r.id).map((r) => r.id!)),
        names: new Set(resources.map((r) => urnName(r.urn))),
        creating: new Set(pending.filter((p) => p.type === "creating").map((p) => urnName(p.resource?.urn))),
    };
}

/** A container with the stack's label, as `docker ps` lists it. */
export interface Labelled {
    readonly id: string;
    readonly name: string;
    readonly resource: string;
    readonly state: string;
}

/** Splits what the state does not know into orphans (a killed create's) and the unexplained. */
export function classify(
    containers: readonly Labelled[],
    facts: StateFacts,
): { orphans: Labelled[]; unexplained: Labelled[] } {
    const orphans: Labelled[] = [],
        unexplained: Labelled[] = [];
    for (const c of containers) {
        if (facts.ids.has(c.id)) continue;
        if (c.resource && (facts.creating.has(c.resource) || !facts.names.has(c.resource))) orphans.push(c);
        else unexplained.push(c);
    }
    return { orphans, unexplained };
}

export const orphans: HookCommand = {
    name: "orphans",
    summary: "list (--remove: remove) the containers a killed pulumi up created and its state never recorded",
    usage: USAGE,
    run(argv) {
        const { values } = parseOptions(argv, {
            stack: { type: "string" },
            state: { type: "string" },
            remove: { type: "boolean", default: false },
            grace: { type: "string" },
        } as const);
        if (!values.stack)
            throw new UsageError("--stack PROJECT/STACK is required (the project and stack names, e.g. upshift/dev)");
        if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(values.stack))
            throw new UsageError(`--stack ${values.stack}: expected PROJECT/STACK, e.g. upshift/dev`);
        if (!values.state)
            throw new UsageError(
                "--state FILE is required: the output of `pulumi stack export` (- reads it from stdin)",
            );
        const grace = values.grace === undefined ? 120 : Number(values.grace);
        if (!Number.isInteger(grace) || grace < 0)
            throw new UsageError(`--grace ${values.grace}: expected a whole number of seconds`);
        let text: string;
        try {
            text = fs.readFileSync(values.state === "-" ? 0 : values.state, "utf8");
        } catch (e) {
            throw new UsageError(
                `--state ${values.state}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
            );
        }
        return runOperation("orphans", () =>
            findAndRemove(values.stack!, stateFacts(text, values.stack!, values.state!), values.remove === true, grace),
        );
    },
};

async function findAndRemove(
    stack: string,
    facts: StateFacts,
    remove: boolean,
    grace: number,
): Promise<Record<string, unknown>> {
    const r = await docker([
        "ps",
        "-a",
        "--no-trunc",
        "--filter",
        `label=${STACK_LABEL}=${stack}`,
        "--format",
        `{{.ID}}\t{{.Names}}\t{{.Label "${RESOURCE_LABEL}"}}\t{{.State}}`,
    ]);
    const containers = r.stdout
        .split("\n")
        .filter(Boolean)
        .map((line) => {
            const [id, name, resource, state] = line.split("\t");
            return { id, name, resource, state };
        });
    const { orphans: found, unexplained } = classify(containers, facts);
    for (const u of unexplained) {
        log(
            "orphans",
            `container ${u.name} (${u.id.slice(0, 12)}) is labelled as ${stack}'s ${u.resource || "?"} but the state has another id for it: left alone; check it by hand`,
        );
    }
    const removed: string[] = [];
    if (remove) {
        for (const o of found) {
            log(
                "orphans",
                `removing ${o.name} (${o.id.slice(0, 12)}, ${o.state}): made as ${o.resource} by a killed run, not in the state`,
            );
            await docker(["stop", "-t", String(grace), o.id]);
            const rm = await docker(["rm", o.id], { check: false });
            if (rm.code !== 0 && !/no such container/i.test(rm.stderr))
                throw new HookError(`docker rm ${o.name}: ${rm.stderr.trim()}`);
            removed.push(o.name);
        }
    } else if (found.length) {
        log(
            "orphans",
            `${found.length} container(s) a killed run left: ${found.map((o) => o.name).join(", ")}; rerun with --remove to remove them`,
        );
    }
    return {
        orphans: found.map((o) => ({ name: o.name, id: o.id, resource: o.resource, state: o.state })),
        removed,
        unexplained: unexplained.map((u) => ({ name: u.name, id: u.id, resource: u.resource })),
    };
}
