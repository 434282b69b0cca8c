// ClearML Server as a Pulumi component: the vendor compose file's containers on the /opt/clearml
// host directories for the configured version, and the Mongo/Elasticsearch chain of
// catalog/clearml.ts around their replacement.
import * as pulumi from "@pulumi/pulumi";
import { CLEARML_DATA_DIR, clearmlCatalog, mongoShell } from "../catalog/clearml";
import { PlanStep } from "../catalog/types";
import { resolveTokens, StepCommandBuilder, StepContext } from "./hookSteps";
import { deployProduct, ProductArgs, ProductComponent } from "./product";

export interface ClearmlArgs extends ProductArgs {
    /** Root of the vendor's layout on the Docker host. Default: `/opt/clearml` (an existing install is adopted in place). */
    readonly dataDir?: string;
}

/**
 * An image the catalog names directly (the 4.0/4.2 mongo of the FCV chain belongs to no ClearML
 * release): the same overrides as every service image, `images` first, then the mirror prefix.
 */
export function overrideImage(args: Pick<ProductArgs, "images" | "registryMirror">, ref: string): string {
    return args.images?.[ref] ?? (args.registryMirror ? `${args.registryMirror.replace(/\/$/, "")}/${ref}` : ref);
}

/** Command lines of the ClearML-only step kinds (docs/hooks-cli.md). */
export function clearmlStepCommands(args: Pick<ProductArgs, "images" | "registryMirror">): StepCommandBuilder {
    return (step: PlanStep, ctx: StepContext): string[] | undefined => {
        const p = (k: string) => {
            const v = step.params[k];
            if (v === undefined) throw new Error(`catalog bug: step ${step.id} (${step.kind}) has no ${k} parameter`);
            return resolveTokens(v, ctx);
        };
        const helper = ctx.helperImage ? ["--helper-image", ctx.helperImage] : [];
        switch (step.kind) {
            case "copy-dir":
                return ["copy-dir", "--from", p("from"), "--to", p("to"), "--owner", p("owner"), ...helper];
            case "mongo-fcv":
                return [
                    "mongo-fcv",
                    "--image",
                    overrideImage(args, p("image")),
                    "--db-dir",
                    p("db"),
                    "--configdb-dir",
                    p("configdb"),
                    "--fcv",
                    p("fcv"),
                    "--shell",
                    p("shell"),
                ];
            case "intermediate-server": {
                const mongo = p("mongoImage");
                return [
                    "intermediate-server",
                    "--version",
                    p("version"),
                    "--apiserver-image",
                    p("apiserverImage"),
                    "--mongo-image",
                    mongo,
                    "--elastic-image",
                    p("elasticImage"),
                    "--redis-image",
                    p("redisImage"),
                    "--mongo-db",
                    p("mongoDb"),
                    "--mongo-configdb",
                    p("mongoConfigdb"),
                    "--elastic",
                    p("elastic"),
                    "--redis",
                    p("redis"),
                    "--config",
                    p("config"),
                    "--fcv",
                    p("fcv"),
                    "--shell",
                    mongoShell(mongo),
                ];
            }
            default:
                return undefined;
        }
    };
}

export class Clearml extends ProductComponent {
    constructor(name: string, args: ClearmlArgs, opts?: pulumi.ComponentResourceOptions) {
        super("upshift:clearml:Clearml", name, {}, opts);
        const d = deployProduct(this, name, args, {
            catalog: clearmlCatalog(args.dataDir ?? CLEARML_DATA_DIR),
            extraCommands: clearmlStepCommands(args),
            // Every directory lies under clearml:dataDir: set, it says where the install to adopt is.
            adoptedBy: args.dataDir !== undefined ? () => "clearml:dataDir" : undefined,
        });
        this.adopt(d);
    }
}
