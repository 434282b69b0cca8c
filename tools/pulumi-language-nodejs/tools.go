//go:build tools

// Package tools pins the Node.js language host that `npm run pulumi` builds next to the CLI
// (scripts/pulumi.sh). Since v3.69 the host is a module of its own with no tags
// (sdk/nodejs/cmd/pulumi-language-nodejs/go.mod), and the Go module proxy here refuses its
// pseudo-versions (403); v3.68.0 is the last release that ships it inside the tagged sdk/v3 module.
// The e2e suite proves it runs @pulumi/pulumi 3.248 programs under the v3.274 CLI (docs/pulumi.md).
package tools

import _ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"
