// CVAT as a Pulumi component: the compose file's containers and volumes for the configured
// version, and the upgrade steps of catalog/cvat.ts around their replacement.
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { cvatCatalog } from "../catalog/cvat";
import { DeployedProduct, Plan } from "../plan";
import { deployProduct, ProductArgs } from "./product";

export type CvatArgs = ProductArgs;

export class Cvat extends pulumi.ComponentResource {
    /** The plan this run applies (install, unchanged, upgrade or rollback). */
    public readonly plan: Plan;
    /** The record the stack exports as `deployed.<product>`: the plan\'s next state plus its audit entry. */
    public readonly deployed: pulumi.Output<DeployedProduct>;
    public readonly containers: Record<string, docker.Container>;
    public readonly volumes: Record<string, docker.Volume>;
    public readonly steps: Record<string, command.local.Command>;

    constructor(name: string, args: CvatArgs, opts?: pulumi.ComponentResourceOptions) {
        super("upshift:cvat:Cvat", name, {}, opts);
        const d = deployProduct(this, name, args, {
            catalog: cvatCatalog,
            // The dump/restore tools read the DB password from the environment, never argv.
            stepSecrets: (kind): Record<string, string> => (kind === "pg-dump" || kind === "pg-restore" || kind === "verify-backup" ? { PGPASSWORD: "dbPassword" } : {}),
        });
        this.plan = d.plan;
        this.deployed = d.deployed;
        this.containers = d.containers;
        this.volumes = d.volumes;
        this.steps = d.steps;
        this.registerOutputs({ plan: d.plan });
    }
}
