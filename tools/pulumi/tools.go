//go:build tools

// Package tools pins the Pulumi CLI that `npm run pulumi` builds (scripts/pulumi.sh). pkg/v3's own
// go.mod replaces sdk/v3 with ../sdk, so `go install pkg@version` refuses it; as a dependency of this
// module its replace is ignored and sdk/v3 is required at the same version. The clipboard replace in
// go.mod is copied from pkg/v3's go.mod (pulumi/pulumi, pkg/go.mod).
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
