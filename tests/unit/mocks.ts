// Pulumi unit-test mocks (reference/pulumi-notes.md "Unit tests"): no CLI, no engine. Resource
// options (dependsOn, protect, retainOnDelete) never reach the mocks, so they are captured with a
// `transformations` entry on the component under test.
import * as pulumi from "@pulumi/pulumi";

export interface Registered {
    readonly type: string;
    readonly name: string;
    readonly props: Record<string, unknown>;
    readonly dependsOn: string[];
    readonly protect?: boolean;
    readonly retainOnDelete?: boolean;
    readonly replaceOnChanges?: string[];
    readonly ignoreChanges?: string[];
    readonly parentName?: string;
}

/** Captured resources, in registration order. */
export class Capture {
    readonly resources: Registered[] = [];
    private readonly names = new WeakMap<pulumi.Resource, string>();

    /** Pass in the component's opts: `{ transformations: [capture.transformation] }`. */
    readonly transformation: pulumi.ResourceTransformation = (args) => {
        this.names.set(args.resource, args.name);
        const deps = args.opts.dependsOn;
        const list = (Array.isArray(deps) ? deps : deps ? [deps] : []) as pulumi.Resource[];
        this.resources.push({
            type: args.type,
            name: args.name,
            props: args.props,
            dependsOn: list.map((r) => this.names.get(r) ?? "?"),
            protect: args.opts.protect,
            retainOnDelete: args.opts.retainOnDelete,
            replaceOnChanges: args.opts.replaceOnChanges,
            ignoreChanges: args.opts.ignoreChanges,
            parentName: args.opts.parent ? this.names.get(args.opts.parent) : undefined,
        });
        return undefined;
    };

    byName(name: string): Registered {
        const r = this.resources.find((x) => x.name === name);
        if (!r) throw new Error(`no resource named ${name}; have: ${this.resources.map((x) => x.name).join(", ")}`);
        return r;
    }
    ofType(type: string): Registered[] {
        return this.resources.filter((r) => r.type === type);
    }
    /** Every resource `name` depends on, directly or through others. */
    dependsTransitively(name: string): Set<string> {
        const seen = new Set<string>();
        const walk = (n: string) => {
            for (const d of this.byName(n).dependsOn)
                if (!seen.has(d)) {
                    seen.add(d);
                    walk(d);
                }
        };
        walk(name);
        return seen;
    }
}

/**
 * Installs mocks; `stackOutputs` is what the StackReference to this stack returns. Mocks are
 * process-global: call it in each suite's `before` too, since other suites install their own.
 */
export function setMocks(stackOutputs: Record<string, unknown> = {}, preview = true): void {
    pulumi.runtime.setMocks(
        {
            newResource: (args: pulumi.runtime.MockResourceArgs) => {
                const state: Record<string, unknown> = { ...args.inputs };
                if (args.type === "docker:index/remoteImage:RemoteImage") state.imageId = `sha256:${args.inputs.name}`;
                if (args.type === "pulumi:pulumi:StackReference") state.outputs = stackOutputs;
                // A backup step reports its archives as the hook does (docs/hooks-cli.md): one JSON line.
                if (args.type === "command:local:Command" && /-(restore|rollback)-point$/.test(args.name)) {
                    state.stdout = JSON.stringify({
                        ok: true,
                        operation: "backup",
                        createdAt: "2026-11-22T12:00:00.000Z",
                        archives: [{ name: "cvat_cvat_db", bytes: 10, sha256: "ab".repeat(32) }],
                    });
                }
                return { id: `${args.name}-id`, state };
            },
            call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
            // "organization" is the local backend's organization (reference/pulumi-notes.md).
        },
        "upshift",
        "dev",
        preview,
        "organization",
    );
}

/** Resolves an Output (or plain value) to its value. */
export function value<T>(o: pulumi.Input<T> | undefined): Promise<T | undefined> {
    return new Promise((resolve) =>
        pulumi.Output.isInstance(o)
            ? (o as pulumi.Output<T>).apply((v) => {
                  resolve(v);
                  return v;
              })
            : resolve(o as T | undefined),
    );
}

/** Whether an Input is a secret Output. */
export async function isSecret(o: unknown): Promise<boolean> {
    return pulumi.Output.isInstance(o) ? pulumi.isSecret(o as pulumi.Output<unknown>) : false;
}
