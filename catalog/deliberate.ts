// Where upshift runs a release differently from the vendor's compose file, on purpose: the one
// list, checked by tests/unit/catalog-vendor.test.ts for every release and explained in the README
// ("Deliberate differences"). Each entry turns the vendor's facts into what upshift runs.
import type { DeliberateDifference } from "../tools/compose-facts/compare";
import type { ServiceFacts } from "../tools/compose-facts/facts";
import { CVAT_NETWORK } from "./cvat";

/** How a secret's value appears in compared facts. */
export const SECRET_MARK = "<secret>";

const loopbackPorts: DeliberateDifference = {
    id: "ports-on-loopback",
    why: "published ports are bound to 127.0.0.1, not every interface (put a reverse proxy or SSH tunnel in front)",
    apply: (_v, _n, f) => ({ ...f, ports: f.ports.map((p) => (p.split(":").length === 2 ? `127.0.0.1:${p}` : p)) }),
};
const noCheckoutFiles: DeliberateDifference = {
    id: "no-vendor-checkout-files",
    why: "files of the vendor's git checkout (./components/..., ./cvat/apps/iam/rules) are not mounted: upshift runs from images alone",
    apply: (_v, _n, f) => ({ ...f, mounts: f.mounts.filter((m) => !m.startsWith("./")) }),
};
const pinLatest = (image: string, tag: string): string => (/:[^/]+$/.test(image) ? image : `${image}:${tag}`);

export const CVAT_DELIBERATE: readonly DeliberateDifference[] = [
    {
        id: "db-password",
        why: "cvat_db gets a password (the cvat:dbPassword secret) instead of the vendor's trust auth, and the backend is given it",
        apply: (_v, name, f) => {
            const env: Record<string, string> = { ...f.env };
            if (name === "cvat_db") {
                delete env.POSTGRES_HOST_AUTH_METHOD;
                env.POSTGRES_PASSWORD = SECRET_MARK;
            }
            if (env.CVAT_POSTGRES_HOST) env.CVAT_POSTGRES_PASSWORD = SECRET_MARK;
            return { ...f, env };
        },
    },
    {
        id: "pinned-images",
        why: "2.0.0 and 2.1.0 name the app images without a tag (whatever was latest); upshift pins the release's tag",
        apply: (v, _n, f) => ({ ...f, image: f.image.startsWith("openvino/") ? pinLatest(f.image, `v${v}`) : f.image }),
    },
    loopbackPorts,
    noCheckoutFiles,
    {
        id: "no-analytics-ui",
        why: "cvat_vector and cvat_grafana are not run: both need configuration files of the vendor's checkout (see no-vendor-checkout-files)",
        apply: (_v, name, f) => (name === "cvat_vector" || name === "cvat_grafana" ? undefined : f),
    },
    {
        id: "traefik-network",
        why: `traefik routes on upshift's network ${CVAT_NETWORK}, the name the containers are attached to (compose's is cvat_cvat)`,
        apply: (_v, name, f) =>
            name !== "traefik"
                ? f
                : {
                      ...f,
                      command: f.command?.map((c) =>
                          c === "--providers.docker.network=cvat" ? `--providers.docker.network=${CVAT_NETWORK}` : c,
                      ),
                      env: f.env.TRAEFIK_PROVIDERS_DOCKER_NETWORK
                          ? { ...f.env, TRAEFIK_PROVIDERS_DOCKER_NETWORK: CVAT_NETWORK }
                          : f.env,
                  },
    },
];

export type { ServiceFacts };

export const CLEARML_DELIBERATE: readonly DeliberateDifference[] = [
    {
        id: "pinned-images",
        why: "the vendor's file names the app image `:latest`; upshift pins the release's tag, so a rerun never changes the version",
        apply: (v, _n, f) => ({
            ...f,
            image: /^(allegroai\/clearml|clearml\/server):latest$/.test(f.image)
                ? f.image.replace(/:latest$/, `:${v}`)
                : f.image,
        }),
    },
    loopbackPorts,
    {
        id: "agent-services-optional",
        why: "the agent-services container runs only with clearml:agentServices: it needs the host's Docker socket and access keys made in the web UI",
        apply: (_v, name, f) => (/-agent-services$/.test(name) ? undefined : f),
    },
    {
        id: "no-anonymous-volumes",
        why: "Elasticsearch's logs directory gets no anonymous volume (nothing in it is data; compose would leave a new volume behind at every recreate)",
        apply: (_v, _n, f) => ({ ...f, mounts: f.mounts.filter((m) => !m.startsWith("anonymous:")) }),
    },
    {
        id: "vendor-1.2.0-mongo-4.4",
        why: "the 1.2.0 tag's file still names mongo 3.6 on data/mongo; the vendor's next commit and the 1.2.0 release notes run mongo 4.4.9 on data/mongo_4",
        apply: (v, name, f) =>
            v !== "1.2.0" || name !== "clearml-mongo"
                ? f
                : {
                      ...f,
                      image: "mongo:4.4.9",
                      command: ["--setParameter", "internalQueryMaxBlockingSortMemoryUsageBytes=196100200"],
                      mounts: f.mounts.map((m) => m.replace("/data/mongo/", "/data/mongo_4/")),
                  },
    },
];

/** By product; KWDB has no compose file (its facts are checked in tests/unit/kwdb.test.ts). */
export const DELIBERATE: Readonly<Record<string, readonly DeliberateDifference[]>> = {
    cvat: CVAT_DELIBERATE,
    clearml: CLEARML_DELIBERATE,
};
