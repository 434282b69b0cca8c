// Shared shapes of the per-product catalogs. Pure data: nothing here imports Pulumi.

export type Product = "cvat" | "clearml" | "kwdb";

/** What a step does; the component maps each kind to a hooks CLI command line. */
export type StepKind =
    | "preflight" // docker reachable, containers/volumes present, free space >= 3x the data to move
    | "backup" // restore point: archive every data volume/dir the upgrade touches
    | "verify-backup" // checksums + test restore into a throwaway container
    | "stop" // stop the containers that write to the data (not restarted: they are replaced next)
    | "pg-dump" // roles + every database from the running old Postgres
    | "pg-restore" // into the new Postgres (new volume), then compare with the dump's counts
    | "pg-migrate" // a Postgres major change onto the new volume: pg_upgrade, else dump/restore; verified; old volume only read
    | "pg-analyze" // after `start`: vacuumdb --analyze-in-stages on the new server (pg_upgrade carries no statistics), the app serving
    | "manage" // a command run inside the app container once it is healthy
    | "warn" // nothing runs; the preview and the log say what the operator must check
    | "copy-dir" // copy a data directory to a new location and fix ownership (original untouched)
    | "mongo-fcv" // run a given mongo on a data dir, set featureCompatibilityVersion, check ok:1, stop
    | "intermediate-server" // run an intermediate app version until healthy (the app migrates its data itself)
    | "kwdb-export" // EXPORT databases, users and cluster settings from the old KWDB
    | "kwdb-import" // transform and IMPORT into the new KWDB, verify counts
    | "reattach" // rollback: point containers at the retained volume of the older format
    | "restore-backup" // rollback where nothing was retained: restore a restore point into a new volume
    | "push" // off-site copy of the verified backup to S3
    | "prune" // retention: delete old backups after the new one is verified
    | "start"; // last step: start what a step stopped and the engine did not replace; wait until healthy

/**
 * When a step runs relative to the container replacements (reference/pulumi-notes.md, "Ordering
 * around a replacement"): before the old containers go, after the data services of the new version
 * are up (before the app), or after the app is healthy.
 */
export type Phase = "before-stop" | "after-data-service" | "after-app";

export interface PlanStep {
    /** Unique within a plan; becomes the resource name suffix, e.g. `pg-dump`. */
    readonly id: string;
    readonly kind: StepKind;
    /** One line, in the product's own words, shown in the preview. */
    readonly description: string;
    /** False when the data cannot be taken back to the old format in place (a point of no return). */
    readonly reversible: boolean;
    /** What data the step reads or writes (volume keys, dirs or databases). */
    readonly moves: readonly string[];
    readonly phase: Phase;
    /**
     * Kind-specific arguments; never secrets. Values may hold tokens the component resolves:
     * `${vol:KEY:from}` / `${vol:KEY:to}` (volume name or dir of that key before/after the change)
     * and `${image:SERVICE:VERSION}` (the image of that service at that version, after overrides).
     */
    readonly params: Readonly<Record<string, string>>;
}

export interface DataVolume {
    /** Key in the product's own words: `cvat_db`, `mongo`, `kwdb_store`. */
    readonly key: string;
    /** A named Docker volume, or a host directory bind-mounted (ClearML's /opt/clearml layout). */
    readonly type: "volume" | "dir";
    /** The vendor's name for it at this version: the compose volume name or the host path. */
    readonly defaultName: string;
    /** Mount path inside the container that owns it. */
    readonly mount: string;
    /** Container (compose service name) that owns and writes it. */
    readonly owner: string;
    /** Format tag of the data at a version (e.g. `pg15`); a change means a new volume, the old one kept. */
    readonly format: string;
    /** The format in the vendor's words for messages (e.g. `Mongo featureCompatibilityVersion 6.0`). Default: the tag. */
    readonly formatLabel?: string;
    /**
     * True when the app migrates this data's schema on start (a database): a downgrade to the same
     * format cannot reuse it and needs the restore point taken before the upgrade.
     */
    readonly schema: boolean;
    /**
     * The vendor's install always has data here once it has run (its database): adopting it
     * missing or empty would start the product on an empty store, so that is refused.
     */
    readonly vendorData?: boolean;
}

/** A value that is a Pulumi secret, named by its config key in the product's namespace. */
export interface SecretRef {
    readonly secret: string;
    /** When the secret is not set, the variable is left out (the product then makes its own). */
    readonly optional?: boolean;
}

/** One container of a product at a version: the compose file's service, as data. */
export interface ServiceSpec {
    /** Container name (compose `container_name`); steps target containers by this fixed name. */
    readonly name: string;
    /** Default image reference; overridable in config (`<product>:images`, `<product>:registryMirror`). */
    readonly image: string;
    /** Data services start before the data steps that need them; app services after. */
    readonly role: "data" | "app";
    readonly command?: readonly string[];
    readonly entrypoint?: readonly string[];
    readonly env?: Readonly<Record<string, string | SecretRef>>;
    /** Mounts of data volumes/dirs by key (see DataVolume.key). */
    readonly mounts?: readonly { readonly volume: string; readonly target: string; readonly readOnly?: boolean }[];
    readonly ports?: readonly { readonly internal: number; readonly external: number; readonly ip?: string }[];
    /** Network aliases besides the container name (names the app's code connects to, e.g. CVAT's `opa`). */
    readonly aliases?: readonly string[];
    /** Container labels (e.g. CVAT's traefik routing labels). */
    readonly labels?: Readonly<Record<string, string>>;
    /** Host paths bind-mounted (not data: e.g. traefik's Docker socket, read-only). */
    readonly binds?: readonly { readonly source: string; readonly target: string; readonly readOnly?: boolean }[];
    /** tmpfs mounts (container paths). */
    readonly tmpfs?: readonly string[];
    /** Run an init process as PID 1 (compose `init: true`). */
    readonly init?: boolean;
    readonly healthcheck?: {
        readonly test: readonly string[];
        readonly interval?: string;
        readonly timeout?: string;
        readonly retries?: number;
        readonly startPeriod?: string;
    };
    /** Create returns only once the healthcheck passes (docker provider `wait`). */
    readonly wait?: boolean;
    readonly waitTimeout?: number;
    readonly privileged?: boolean;
    readonly ipcMode?: string;
    readonly ulimits?: readonly { readonly name: string; readonly soft: number; readonly hard: number }[];
    readonly user?: string;
    readonly workingDir?: string;
    /** Only created when this optional feature is enabled in config (e.g. `agentServices`). */
    readonly optional?: string;
}

/** A rule fires for an upgrade from < at <= to (semver order) and contributes steps. */
export interface UpgradeRule {
    readonly id: string;
    readonly at: string;
    readonly steps: (ctx: RuleContext) => PlanStep[];
}

export interface RuleContext {
    readonly from: string;
    readonly to: string;
    /** A vendor image reference as the stack pulls it (config `images`, then `registryMirror`). Default: as is. */
    readonly imageRef: (ref: string) => string;
    /** The stack's `upshift:pgUpgradeImage` (a pg_upgrade helper for every Postgres major change). Default: per image pair. */
    readonly pgUpgradeImage?: string;
}

/** A jump the product's vendor does not support: the plan is refused with this message. */
export interface Refusal {
    /** Refuse when from satisfies this predicate... */
    readonly from: (v: string) => boolean;
    /** ...and to satisfies this one. */
    readonly to: (v: string) => boolean;
    readonly message: (from: string, to: string) => string;
}

export interface ProductCatalog {
    readonly product: Product;
    /** Every release the catalog knows, ascending. A version outside this list is refused by config validation. */
    readonly versions: readonly string[];
    /** The vendor's releases before `versions[0]` (real, but not deployed by upshift), ascending. */
    readonly olderReleases?: readonly string[];
    /** Data volumes or directories at a version, with their format tags. */
    readonly dataVolumes: (version: string) => DataVolume[];
    /** The containers at a version (the compose file). */
    readonly services: (version: string) => ServiceSpec[];
    /** Host needs, said in the preview (e.g. ClearML's vm.max_map_count). */
    readonly hostRequirements?: (version: string) => string[];
    readonly refusals: readonly Refusal[];
    readonly rules: readonly UpgradeRule[];
}
