// CVAT as a Pulumi component: the compose file's containers and volumes for the configured
// version, and the upgrade steps of catalog/cvat.ts around their replacement.
import * as pulumi from "@pulumi/pulumi";
import { cvatCatalog } from "../catalog/cvat";
import { deployProduct, ProductArgs, ProductComponent } from "./product";

export type CvatArgs = ProductArgs;

export class Cvat extends ProductComponent {
    constructor(name: string, args: CvatArgs, opts?: pulumi.ComponentResourceOptions) {
        super("upshift:cvat:Cvat", name, {}, opts);
        const d = deployProduct(this, name, args, {
            catalog: cvatCatalog,
            // The Postgres tools read the DB password from the environment, never argv.
            stepSecrets: (kind): Record<string, string> =>
                kind === "backup" ||
                kind === "pg-migrate" ||
                kind === "pg-analyze" ||
                kind === "pg-dump" ||
                kind === "pg-restore" ||
                kind === "verify-backup"
                    ? { PGPASSWORD: "dbPassword" }
                    : {},
        });
        this.adopt(d);
    }
}
