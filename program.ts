// The stack's program (index.ts runs it). Reads and validates config, reads what this stack deployed last
// time, and declares one component per enabled product. See docs/ and ../shared/design.md.
import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, SECRET_KEYS, validateConfig } from "./config/schema";
import { Clearml } from "./components/clearml";
import { BackupBucket } from "./components/backupBucket";
import { Cvat } from "./components/cvat";
import { Kwdb } from "./components/kwdb";
import { DeployedProduct } from "./plan";
import { Product } from "./catalog/types";

// Which config keys are secrets: not in the runtime's typings, but exported by
// @pulumi/pulumi/runtime/config.js (isConfigSecret, read from PULUMI_CONFIG_SECRET_KEYS).
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as { isConfigSecret: (key: string) => boolean };

export type DeployedRecord = Partial<Record<Product, DeployedProduct>>;

/**
 * This stack's own previous `deployed` output, through a StackReference to itself
 * (reference/pulumi-notes.md; shown as a supported pattern in pulumi/pulumi#3722). A failed update
 * does not overwrite outputs (pulumi/pulumi#14621), so a rerun plans from the last good state.
 */
async function readDeployed(): Promise<DeployedRecord> {
    const self = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const ref = new pulumi.StackReference("upshift-deployed", { name: self });
    const details = await ref.getOutputDetails("deployed");
    const value = details.value ?? details.secretValue;
    return (value && typeof value === "object" ? value : {}) as DeployedRecord;
}

/** A product's secrets as declared in SECRET_KEYS: required ones with requireSecret, the others when set. */
function productSecrets(product: Product): Record<string, pulumi.Output<string>> {
    const conf = new pulumi.Config(product);
    const secrets: Record<string, pulumi.Output<string>> = {};
    for (const { key, required } of SECRET_KEYS[product]) {
        const value = required ? conf.requireSecret(key) : conf.getSecret(key);
        if (value) secrets[key] = value;
    }
    return secrets;
}

/**
 * `upshift:s3` is the only thing that registers AWS resources. Where the engine may not fetch
 * plugins (PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION, an offline host) a missing AWS plugin
 * would otherwise surface as the engine's own "no resource plugin" error mid-preview. Plugins live
 * in $PULUMI_HOME/plugins/resource-<name>-v<version> (sdk/go/common/workspace/plugins.go).
 */
function requireAwsPlugin(): void {
    const { version } = (require("@pulumi/aws/package.json") as { pulumi: { version: string } }).pulumi;
    const home = process.env.PULUMI_HOME || path.join(os.homedir(), ".pulumi");
    const dir = path.join(home, "plugins", `resource-aws-v${version}`);
    if (fs.existsSync(dir)) return;
    const off = /^(1|true)$/i.test(process.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION ?? "");
    const what = `upshift:s3 is set, so the AWS provider plugin ${version} is needed, and it is not installed (${dir})`;
    if (off) {
        throw new ConfigError([
            `${what}; automatic plugin downloads are off (PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION). ` +
                `Fix: pulumi plugin install resource aws ${version} (where Pulumi's plugin downloads are reachable, or --file with a built binary), or pulumi config rm upshift:s3`,
        ]);
    }
    pulumi.log.info(
        `${what}: the engine will download it now; on a host without access to Pulumi's plugin downloads, run pulumi plugin install resource aws ${version} --file <binary> first`,
    );
}

export async function program(): Promise<{ deployed: pulumi.Output<DeployedRecord> }> {
    // Validate everything before any resource is registered: a bad value changes nothing.
    const cfg = validateConfig(pulumi.runtime.allConfig(), isConfigSecret);
    if (cfg.stack.s3) requireAwsPlugin();
    const before = await readDeployed();
    const provider = new docker.Provider("docker", cfg.stack.dockerHost ? { host: cfg.stack.dockerHost } : {});
    // Off-site copies: a bucket upshift manages (versioning, encryption, no public access, lifecycle)
    // or an existing one by name. Credentials come from the standard AWS environment or profile only.
    const s3 = cfg.stack.s3;
    const bucket = s3
        ? new BackupBucket(
              "backups",
              s3.create
                  ? { bucketName: s3.bucket, noncurrentVersionDays: s3.noncurrentVersionDays }
                  : { existingBucketName: s3.bucket },
              s3.region ? { providers: [new aws.Provider("aws", { region: s3.region as aws.Region })] } : undefined,
          )
        : undefined;
    const common = {
        dockerHost: cfg.stack.dockerHost,
        backupDir: cfg.stack.backupDir,
        hooksCommand: cfg.stack.hooksCommand,
        helperImage: cfg.stack.helperImage,
        pgUpgradeImage: cfg.stack.pgUpgradeImage,
        s3: s3 ? { bucket: s3.bucket, prefix: s3.prefix || undefined } : undefined,
        keepBackups: cfg.stack.retention.keep,
        stepsDependOn: bucket ? [bucket] : undefined,
    };
    const deployed: Record<string, pulumi.Input<DeployedProduct>> = {};
    if (cfg.cvat) {
        const c = cfg.cvat;
        const secrets = productSecrets("cvat");
        const cvat = new Cvat(
            "cvat",
            {
                ...common,
                version: c.version,
                deployed: before.cvat,
                images: c.images,
                registryMirror: c.registryMirror,
                volumes: c.volumes,
                adopt: c.adopt,
                secrets,
            },
            { providers: [provider] },
        );
        deployed.cvat = cvat.deployed;
    }
    if (cfg.clearml) {
        const c = cfg.clearml;
        const secrets = productSecrets("clearml");
        const clearml = new Clearml(
            "clearml",
            {
                ...common,
                version: c.version,
                deployed: before.clearml,
                images: c.images,
                registryMirror: c.registryMirror,
                volumes: c.volumes,
                adopt: c.adopt,
                dataDir: c.dataDir,
                features: { agentServices: c.agentServices },
                secrets,
            },
            { providers: [provider] },
        );
        deployed.clearml = clearml.deployed;
    }
    if (cfg.kwdb) {
        const k = cfg.kwdb;
        const secrets = productSecrets("kwdb");
        const kwdb = new Kwdb(
            "kwdb",
            {
                ...common,
                version: k.version,
                deployed: before.kwdb,
                images: k.images,
                registryMirror: k.registryMirror,
                volumes: k.volumes,
                adopt: k.adopt,
                storePath: k.storePath,
                secure: k.secure,
                ports: k.ports,
                secrets,
            },
            { providers: [provider] },
        );
        deployed.kwdb = kwdb.deployed;
    }
    return { deployed: pulumi.output(deployed) as pulumi.Output<DeployedRecord> };
}
