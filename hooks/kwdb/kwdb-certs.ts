// `upshift kwdb-certs`: the certificates of a secure-mode KWDB in a Docker volume, made once. A CA
// given as secrets (env KWDB_CA_CERT / KWDB_CA_KEY, never argv) is written in; otherwise `kwbase cert
// create-ca` makes one. Node and root client certificates are then made with the KWDB image's own
// kwbase (product-catalog.md, "Secure mode certs"). Files already present are never touched, so a
// rerun changes nothing.
import { HookCommand } from "../core/command";
import { docker, helperImage, helperName, helperRunArgs } from "../core/docker";
import { HookError, log, parseOptions, requireFlags, runOperation, splitList } from "../core/report";

const OP = "kwdb-certs";
const DIR = "/kaiwudb/certs";

const USAGE = `usage: upshift kwdb-certs --volume V --image IMG [--hosts H1,H2] [--helper-image IMG]
  Makes, once, ca.crt/ca.key, node.crt/node.key and client.root.crt/client.root.key in volume V
  (mounted at ${DIR}) with IMG's kwbase. Env KWDB_CA_CERT and KWDB_CA_KEY (both or neither): use that CA.
  --hosts: names the node certificate is valid for, besides 127.0.0.1 localhost 0.0.0.0.`;

/** The exact `docker run` argv of one `kwbase cert` command. */
export function certArgv(volume: string, image: string, args: string[], name = helperName("kwdb-cert")): string[] {
    return [
        ...helperRunArgs(name),
        "-v",
        `${volume}:${DIR}`,
        "-w",
        "/kaiwudb/bin",
        "--entrypoint",
        "/kaiwudb/bin/kwbase",
        image,
        "cert",
        ...args,
        `--certs-dir=${DIR}`,
        `--ca-key=${DIR}/ca.key`,
    ];
}

async function listFiles(volume: string, helper: string): Promise<Set<string>> {
    const r = await docker([
        ...helperRunArgs(helperName("kwdb-certs-ls")),
        "-v",
        `${volume}:${DIR}`,
        helper,
        "ls",
        "-A",
        DIR,
    ]);
    return new Set(
        r.stdout
            .split("\n")
            .map((s) => s.trim())
            .filter(Boolean),
    );
}

/** Writes one file into the volume from stdin (mode 600), so a key never appears in argv. */
async function writeFile(volume: string, helper: string, file: string, content: string): Promise<void> {
    await docker(
        [
            ...helperRunArgs(helperName("kwdb-certs-put"), { interactive: true }),
            "-v",
            `${volume}:${DIR}`,
            helper,
            "sh",
            "-c",
            `umask 077 && cat > "${DIR}/$1"`,
            "sh",
            file,
        ],
        { input: content.endsWith("\n") ? content : content + "\n" },
    );
}

export async function runCerts(o: {
    volume: string;
    image: string;
    hosts: string[];
    helper: string;
}): Promise<Record<string, unknown>> {
    const caCert = process.env.KWDB_CA_CERT;
    const caKey = process.env.KWDB_CA_KEY;
    if (Boolean(caCert) !== Boolean(caKey))
        throw new HookError(
            "give both KWDB_CA_CERT and KWDB_CA_KEY (kwdb:caCert and kwdb:caKey), or neither to have a CA made",
        );
    const have = await listFiles(o.volume, o.helper);
    const made: string[] = [];
    if (!have.has("ca.crt")) {
        if (caCert && caKey) {
            await writeFile(o.volume, o.helper, "ca.key", caKey);
            await writeFile(o.volume, o.helper, "ca.crt", caCert);
            made.push("ca.crt (given)", "ca.key (given)");
        } else {
            await docker(certArgv(o.volume, o.image, ["create-ca"]));
            made.push("ca.crt", "ca.key");
        }
    } else if (caCert) {
        const r = await docker([
            ...helperRunArgs(helperName("kwdb-certs-cat")),
            "-v",
            `${o.volume}:${DIR}`,
            o.helper,
            "cat",
            `${DIR}/ca.crt`,
        ]);
        if (r.stdout.trim() !== caCert.trim()) {
            throw new HookError(
                `volume ${o.volume} already holds a different CA than kwdb:caCert; nothing was changed. Use a new certs volume (kwdb:volumes.kwdb_certs) or unset kwdb:caCert/kwdb:caKey`,
            );
        }
    }
    const needKey = !have.has("ca.key") && !made.length;
    if (!have.has("client.root.crt")) {
        if (needKey)
            throw new HookError(
                `volume ${o.volume} has ca.crt but no ca.key: cannot make client.root.crt; put the CA key in the volume or set kwdb:caKey`,
            );
        await docker(certArgv(o.volume, o.image, ["create-client", "root"]));
        made.push("client.root.crt", "client.root.key");
    }
    if (!have.has("node.crt")) {
        if (needKey)
            throw new HookError(
                `volume ${o.volume} has ca.crt but no ca.key: cannot make node.crt; put the CA key in the volume or set kwdb:caKey`,
            );
        await docker(certArgv(o.volume, o.image, ["create-node", "127.0.0.1", "localhost", "0.0.0.0", ...o.hosts]));
        made.push("node.crt", "node.key");
    }
    log(OP, made.length ? `made ${made.join(", ")} in ${o.volume}` : `all certificates already in ${o.volume}`);
    return { volume: o.volume, made, unchanged: made.length === 0 };
}

export const kwdbCerts: HookCommand = {
    name: OP,
    summary: "make KWDB's CA, node and root client certificates once in a volume (CA from env secrets or kwbase cert)",
    usage: USAGE,
    run(argv) {
        const { values } = parseOptions(argv, {
            volume: { type: "string" },
            image: { type: "string" },
            hosts: { type: "string", multiple: true },
            "helper-image": { type: "string" },
        });
        requireFlags(values, "volume", "image");
        return runOperation(OP, () =>
            runCerts({
                volume: values.volume!,
                image: values.image!,
                hosts: splitList(values.hosts),
                helper: helperImage(values["helper-image"]),
            }),
        );
    },
};
