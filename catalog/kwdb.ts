// KWDB (KaiwuDB) 2.0.4 - 3.2.1 as data: the single-node container per release and the upgrade rules.
// Sources: reference/upstream/README.md (KWDB/KWDB tags and the KWDB/docs branches per version),
// ../shared/reference/product-catalog.md (KWDB part) and vendor-guides/kwdb-upgrade.md (KWDB/docs
// "Database Upgrade"). Entries marked *unconfirmed* are inferred, not read from a release.
import { DataVolume, PlanStep, ProductCatalog, ServiceSpec } from "./types";
import { gte, lt } from "./versions";

/**
 * Releases the catalog knows (KWDB/KWDB tags; 3.0.1 is a tag without release notes). There is no
 * 2.0.0: the first 2.0 release is 2.0.3.2, whose four-part version upshift cannot order; it is
 * named in KWDB_UNSUPPORTED_RELEASES (config validation says so and how to go on).
 */
export const KWDB_VERSIONS: readonly string[] = [
    "2.0.4",
    "2.1.0",
    "2.2.0",
    "2.2.1",
    "2.2.2",
    "3.0.0",
    "3.0.1",
    "3.1.0",
    "3.2.0",
    "3.2.1",
];
/** Real KWDB releases upshift does not deploy. */
export const KWDB_UNSUPPORTED_RELEASES: readonly string[] = ["2.0.3.2"];
/** The vendor's installer: store and certificates in host directories, secure mode by default. */
export const KWDB_INSTALLER_STORE = "/var/lib/kaiwudb";
export const KWDB_INSTALLER_CERTS = "/etc/kaiwudb/certs";

/** The fixed container name of the vendor's installer compose file; steps target it by this name. */
export const KWDB_CONTAINER = "kaiwudb-container";
/** Certificates dir inside the container (installer compose: /etc/kaiwudb/certs:/kaiwudb/certs). */
export const KWDB_CERTS_DIR = "/kaiwudb/certs";
/** Working dir of the vendor's `docker run -w /kaiwudb/bin`; `./kwbase` is relative to it. */
export const KWDB_BIN_DIR = "/kaiwudb/bin";
export const KWDB_DEFAULT_STORE = "/kaiwudb/deploy/kaiwudb-container";

/**
 * The image of a release: `kwdb/kwdb:<version>` (the KWDB docs of 2.2.x and 3.0.0 too). An image
 * loaded from the vendor's KaiwuDB.tar is named like `kaiwudb:2.2.0`: map it with kwdb:images.
 */
export function kwdbImageSource(v: string): { image: string } {
    return { image: `kwdb/kwdb:${v}` };
}
/** A reference that can only come from `docker load < KaiwuDB.tar` (no registry has it). */
export const isTarballImage = (ref: string): boolean => /^kaiwudb:/.test(ref);

/** The settings of a KWDB deployment that shape its container (kwdb:storePath, kwdb:secure, kwdb:ports). */
export interface KwdbOptions {
    /** Store path inside the container. The vendor docs disagree (kaiwudb-container / kwdb-container). */
    readonly storePath: string;
    readonly secure: boolean;
    /** Host ports for SQL (26257), HTTP (8080) and brpc (27257, 3.x only). */
    readonly ports: { readonly sql: number; readonly http: number; readonly brpc: number };
    /** `--ulimit nofile` (the vendor's `$max_files`). */
    readonly maxFiles?: number;
    /**
     * Adopt the vendor installer's layout: the store and the certificates are these host
     * directories, bind-mounted (never named volumes, which would start an empty database), with /dev.
     */
    readonly installerDirs?: { readonly store: string; readonly certs: string };
}

export const KWDB_DEFAULTS: KwdbOptions = {
    storePath: KWDB_DEFAULT_STORE,
    secure: false,
    ports: { sql: 26257, http: 8080, brpc: 27257 },
};

const major = (v: string) => Number(v.split(".")[0]);

/** The SQL client arguments of `kwbase` for the mode (the same flag the server was started with). */
export const kwbaseAuthArgs = (secure: boolean): string[] =>
    secure ? [`--certs-dir=${KWDB_CERTS_DIR}`] : ["--insecure"];

/** The catalog for one deployment's settings (the container's command and mounts depend on them). */
export function kwdbCatalogFor(o: KwdbOptions): ProductCatalog {
    const dir = o.installerDirs;
    const dataVolumes = (v: string): DataVolume[] => [
        // 3.0 refactored the storage: a 2.x store is never opened by 3.x, so the formats differ.
        {
            key: "kwdb_store",
            type: dir ? "dir" : "volume",
            defaultName: dir?.store ?? "kwdb_store",
            mount: o.storePath,
            owner: KWDB_CONTAINER,
            format: `kwdb${major(v)}`,
            schema: true,
            vendorData: true,
        },
        ...(o.secure
            ? [
                  {
                      key: "kwdb_certs",
                      type: dir ? ("dir" as const) : ("volume" as const),
                      defaultName: dir?.certs ?? "kwdb_certs",
                      mount: KWDB_CERTS_DIR,
                      owner: KWDB_CONTAINER,
                      format: "certs",
                      schema: false,
                  },
              ]
            : []),
    ];

    const services = (v: string): ServiceSpec[] => {
        const v3 = major(v) >= 3;
        // Quoted: `?` is a glob character for the shell.
        const ready = "'http" + (o.secure ? "s" : "") + "://127.0.0.1:8080/health?ready=1'";
        const curl = o.secure ? `curl -fsS --cacert ${KWDB_CERTS_DIR}/ca.crt ${ready}` : `curl -fsS ${ready}`;
        return [
            {
                name: KWDB_CONTAINER,
                image: kwdbImageSource(v).image,
                role: "data",
                aliases: [KWDB_CONTAINER],
                // The vendor's `docker run` (db-upgrade.md, "Upgrade Using Docker Commands"), parameters kept identical across images.
                command: [
                    "./kwbase",
                    "start-single-node",
                    ...kwbaseAuthArgs(o.secure),
                    "--listen-addr=0.0.0.0:26257",
                    "--http-addr=0.0.0.0:8080",
                    ...(v3 ? ["--brpc-addr=0.0.0.0:27257"] : []),
                    `--store=${o.storePath}`,
                ],
                mounts: [
                    { volume: "kwdb_store", target: o.storePath },
                    ...(o.secure ? [{ volume: "kwdb_certs", target: KWDB_CERTS_DIR }] : []),
                ],
                // The installer's container sees the host's devices (its compose file: /dev:/dev).
                ...(dir ? { binds: [{ source: "/dev", target: "/dev" }] } : {}),
                ports: [
                    { internal: 26257, external: o.ports.sql },
                    { internal: 8080, external: o.ports.http },
                    ...(v3 ? [{ internal: 27257, external: o.ports.brpc }] : []),
                ],
                // /health?ready=1 (product-catalog.md). Whether the image has curl is *unconfirmed*: fall back to
                // `kwbase node status`, which every image has.
                healthcheck: {
                    test: [
                        "CMD-SHELL",
                        `if command -v curl >/dev/null 2>&1; then ${curl} >/dev/null; ` +
                            `else ${KWDB_BIN_DIR}/kwbase node status ${kwbaseAuthArgs(o.secure).join(" ")} --host=127.0.0.1:26257 >/dev/null; fi`,
                    ],
                    interval: "10s",
                    timeout: "10s",
                    retries: 30,
                    startPeriod: "30s",
                },
                wait: true,
                waitTimeout: 900,
                privileged: true,
                ipcMode: "shareable",
                ulimits: [
                    { name: "memlock", soft: -1, hard: -1 },
                    { name: "nofile", soft: o.maxFiles ?? 1048576, hard: o.maxFiles ?? 1048576 },
                ],
                workingDir: KWDB_BIN_DIR,
            },
        ];
    };

    const secureParam = o.secure ? "true" : "false";
    return {
        product: "kwdb",
        versions: KWDB_VERSIONS,
        olderReleases: KWDB_UNSUPPORTED_RELEASES,
        dataVolumes,
        services,
        hostRequirements: () => [
            `the KWDB container runs privileged with ipc shareable and memlock unlimited (vendor docker run)`,
        ],
        refusals: [
            {
                // Same-major rules of the KWDB docs per version (reference/upstream/README.md): 2.2.1 is
                // reached only from 2.2.0, 2.2.2 only from a 2.2.x (a 2.0.x is refused below: export/import).
                from: (f) => gte(f, "2.1.0") && lt(f, "2.2.0"),
                to: (t) => t === "2.2.1" || t === "2.2.2",
                message: (f, t) =>
                    `kwdb:version ${t}: KWDB ${f} cannot be upgraded to ${t} directly (KWDB docs: 2.2.1 only from 2.2.0, 2.2.2 only from 2.2.x). ` +
                    `The supported path: ${f} -> 2.2.0 -> ${t}; set kwdb:version 2.2.0 first, then ${t}`,
            },
            {
                // 2.1.0 release notes: a standalone 2.0 upgrades offline only from 2.0.4.
                from: (f) => lt(f, "2.0.4"),
                to: (t) => gte(t, "2.1.0") && lt(t, "2.2.0"),
                message: (f, t) =>
                    `kwdb:version ${t}: KWDB ${f} cannot be upgraded to ${t} directly (KWDB 2.1.0 release notes: standalone upgrades come from 2.0.4). ` +
                    `Set kwdb:version 2.0.4 first, or go straight to 3.x, which upshift reaches by export and import`,
            },
            {
                // 2.2.0 release notes: "KWDB 2.0.x series: data export and import"; 2.1.0 upgrades offline.
                from: (f) => lt(f, "2.1.0"),
                to: (t) => gte(t, "2.2.0") && lt(t, "3.0.0"),
                message: (f, t) =>
                    `kwdb:version ${t}: KWDB ${f} reaches 2.2 only by export and import (KWDB 2.2.0 release notes). ` +
                    `Set kwdb:version 2.1.0 first (from 2.0.4), or go straight to 3.x, where upshift exports, imports and verifies the data`,
            },
        ],
        rules: [
            // Same major: no rule, the image is swapped with identical parameters (db-upgrade.md). The
            // raft_log.sync_period advice for 3.0/3.1 is for multi-node clusters; upshift runs single-node.
            {
                // db-upgrade.md: "v1.x and v2.x cannot be directly upgraded to v3.0.0": deploy 3.x, move the data
                // with EXPORT/IMPORT. The 2.x store is left untouched (and retained) for rollback.
                id: "kwdb-3-export-import",
                at: "3.0.0",
                steps: ({ from, to }): PlanStep[] => {
                    const dir = `upshift-${from}-to-${to}`;
                    const common = { container: KWDB_CONTAINER, store: o.storePath, dir, secure: secureParam };
                    return [
                        {
                            id: "kwdb-export",
                            kind: "kwdb-export",
                            phase: "before-stop",
                            reversible: true,
                            moves: ["kwdb_store"],
                            description:
                                `record table and row counts, then EXPORT every user database, the users and the cluster settings of KWDB ${from} ` +
                                `into ${o.storePath}/extern/${dir} (volume \${vol:kwdb_store:from}), copy the export next to the backup, stop ${KWDB_CONTAINER}`,
                            params: common,
                        },
                        {
                            id: "kwdb-import",
                            kind: "kwdb-import",
                            phase: "after-data-service",
                            reversible: true,
                            moves: ["kwdb_store"],
                            description:
                                `copy the export into KWDB ${to} on the new volume \${vol:kwdb_store:to}` +
                                ", strip PARTITION INTERVAL from meta.sql" +
                                `, IMPORT databases, users and cluster settings, verify table and row counts; user passwords are not exported and must be reset`,
                            // 3.1+ rejects it (product-catalog.md); 3.0 has no custom partition intervals at all
                            // (3.0.0 release notes, "Feature Adjustments"), so it goes for every 3.x target.
                            params: { ...common, stripPartitionInterval: "true" },
                        },
                    ];
                },
            },
        ],
    };
}

/** The catalog with default settings: what config validation and the registry use. */
export const kwdbCatalog: ProductCatalog = kwdbCatalogFor(KWDB_DEFAULTS);
