// The S3 bucket that holds the off-site copies of backups (hooks `push`/`pull`/`prune --bucket`).
//
// Either the program manages the bucket: versioning on, default server-side encryption (SSE-S3
// AES256, or SSE-KMS with a given key), every kind of public access blocked, and a lifecycle rule
// that expires noncurrent versions after N days (what `prune` deletes in S3 stays recoverable for
// that long) and aborts incomplete multipart uploads; or it is given an existing bucket's name and
// manages nothing (exposes the name only).
//
// The bucket itself has `retainOnDelete` and `protect` (it holds backups: neither a config change
// nor `pulumi destroy` deletes it). Its side resources are ordinary children: they carry only
// settings. Credentials for the provider come from the standard AWS chain (environment/profile),
// never from config or state.
//
// Sources relied on (@pulumi/aws 7.48.0, read in node_modules/@pulumi/aws/s3/*.d.ts and the
// Pulumi Registry docs):
//  - aws v7: `aws.s3.Bucket` is the former BucketV2 (no inline versioning/encryption/lifecycle);
//    `BucketV2`, `BucketVersioningV2`, `BucketServerSideEncryptionConfigurationV2`,
//    `BucketLifecycleConfigurationV2` are deprecated in favour of the names used here
//    (s3/bucketV2.d.ts: "s3.BucketV2 has been deprecated in favor of s3.Bucket";
//    https://www.pulumi.com/registry/packages/aws/api-docs/s3/bucketversioningv2/ ;
//    https://www.pulumi.com/registry/packages/aws/how-to-guides/bucketv2-migration/).
//  - BucketVersioning: `versioningConfiguration.status: "Enabled"` (s3/bucketVersioning.d.ts).
//  - BucketServerSideEncryptionConfiguration: `rules[].applyServerSideEncryptionByDefault
//    { sseAlgorithm: "AES256" | "aws:kms", kmsMasterKeyId }`, `bucketKeyEnabled` for SSE-KMS
//    (types/input.d.ts, BucketServerSideEncryptionConfigurationRule).
//  - BucketPublicAccessBlock: blockPublicAcls, blockPublicPolicy, ignorePublicAcls,
//    restrictPublicBuckets (s3/bucketPublicAccessBlock.d.ts).
//  - BucketLifecycleConfiguration: rules with `filter: {}` (whole bucket), `noncurrentVersionExpiration
//    { noncurrentDays }`, `abortIncompleteMultipartUpload { daysAfterInitiation }`; its own
//    example for a versioned bucket `dependsOn` the BucketVersioning resource, which we follow
//    (s3/bucketLifecycleConfiguration.d.ts; https://www.pulumi.com/registry/packages/aws/api-docs/s3/bucketlifecycleconfiguration/).
//  - Options on the bucket only, not the component (they are inherited by children):
//    ../shared/reference/pulumi-notes.md "docker.Volume".
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface BackupBucketArgs {
    /** Use this existing bucket; nothing is created or managed. */
    existingBucketName?: pulumi.Input<string>;
    /** Name of the bucket to create (default: auto-named from the component name). */
    bucketName?: pulumi.Input<string>;
    /** SSE-KMS with this key (ARN or id); default SSE-S3 (AES256). */
    kmsKeyId?: pulumi.Input<string>;
    /** Days a noncurrent (overwritten or deleted) version is kept. Default 30. */
    noncurrentVersionDays?: number;
    /** Days after which an unfinished multipart upload is aborted. Default 7. */
    abortIncompleteMultipartDays?: number;
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export const DEFAULT_NONCURRENT_DAYS = 30;
export const DEFAULT_ABORT_MULTIPART_DAYS = 7;

export class BackupBucket extends pulumi.ComponentResource {
    /** The bucket name the hooks take as `--bucket`. */
    public readonly bucketName: pulumi.Output<string>;
    /** True when the bucket is managed by this component. */
    public readonly managed: boolean;
    public readonly bucket?: aws.s3.Bucket;
    public readonly versioning?: aws.s3.BucketVersioning;
    public readonly encryption?: aws.s3.BucketServerSideEncryptionConfiguration;
    public readonly publicAccessBlock?: aws.s3.BucketPublicAccessBlock;
    public readonly lifecycle?: aws.s3.BucketLifecycleConfiguration;

    constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("upshift:backup:Bucket", name, {}, opts);

        if (args.existingBucketName !== undefined) {
            if (args.bucketName !== undefined || args.kmsKeyId !== undefined) {
                throw new Error(
                    `${name}: existingBucketName manages nothing; bucketName and kmsKeyId apply only to a bucket this program creates`,
                );
            }
            this.managed = false;
            this.bucketName = pulumi.output(args.existingBucketName);
            this.registerOutputs({ bucketName: this.bucketName, managed: false });
            return;
        }

        const noncurrentDays = positiveInt(
            args.noncurrentVersionDays ?? DEFAULT_NONCURRENT_DAYS,
            `${name}: noncurrentVersionDays`,
        );
        const abortDays = positiveInt(
            args.abortIncompleteMultipartDays ?? DEFAULT_ABORT_MULTIPART_DAYS,
            `${name}: abortIncompleteMultipartDays`,
        );

        this.managed = true;
        this.bucket = new aws.s3.Bucket(
            `${name}-bucket`,
            { bucket: args.bucketName, forceDestroy: false, tags: args.tags },
            // It holds the backups: never deleted by the program (pulumi-notes.md).
            { parent: this, retainOnDelete: true, protect: true },
        );
        const bucket = this.bucket.bucket;

        this.versioning = new aws.s3.BucketVersioning(
            `${name}-versioning`,
            { bucket, versioningConfiguration: { status: "Enabled" } },
            { parent: this },
        );
        this.encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-encryption`,
            {
                bucket,
                rules: [
                    args.kmsKeyId === undefined
                        ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }
                        : {
                              applyServerSideEncryptionByDefault: {
                                  sseAlgorithm: "aws:kms",
                                  kmsMasterKeyId: args.kmsKeyId,
                              },
                              bucketKeyEnabled: true,
                          },
                ],
            },
            { parent: this },
        );
        this.publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access-block`,
            {
                bucket,
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            },
            { parent: this },
        );
        this.lifecycle = new aws.s3.BucketLifecycleConfiguration(
            `${name}-lifecycle`,
            {
                bucket,
                rules: [
                    {
                        id: "expire-noncurrent-versions",
                        status: "Enabled",
                        filter: {},
                        noncurrentVersionExpiration: { noncurrentDays },
                    },
                    {
                        id: "abort-incomplete-multipart-uploads",
                        status: "Enabled",
                        filter: {},
                        abortIncompleteMultipartUpload: { daysAfterInitiation: abortDays },
                    },
                ],
            },
            { parent: this, dependsOn: [this.versioning] },
        );

        this.bucketName = bucket;
        this.registerOutputs({ bucketName: this.bucketName, managed: true });
    }
}

function positiveInt(n: number, what: string): number {
    if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a whole number of days >= 1 (got ${n})`);
    return n;
}
