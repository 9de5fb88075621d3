// Package baseline owns a client tenant's baseline as code: the
// specification of the Entra ID and Intune configuration an MSP wants in
// every tenant (security defaults or Conditional Access policies, named
// locations, authentication methods with the Temporary Access Pass,
// self-service password reset, Intune compliance policies and the groups and
// licenses of department templates), its YAML files and their layering (an
// MSP default shipped with the binary, global files, per-tenant overrides),
// and the pure planner that compares a baseline with a tenant's current
// state and says, step by step, what to create, change, switch on or leave
// alone, and why.
//
// It does no I/O against Graph and decides nothing about who may act:
// graph reads a tenant's configuration as Graph v1.0 returns it
// (tierzero.BaselineDoc); ParseState turns it into a State (ids into the
// names a baseline uses); Plan compares; (*Set).PlanBaseline does all
// three and renders the phase that can run now as the baseline tools'
// calls (graph's baseline.* actions: Graph bodies with the tenant's ids, a
// name that does not resolve made a conflict, never a guess), which
// `tierzero baseline apply` proposes as one tierzero.ActionBaselineApply
// plan and runs step by step through policy.Guard.
//
// # Phases
//
// A plan's steps are one phase. While anything that enforces nothing is to
// be created or changed, the create phase: Conditional Access policies are
// created report-only, and never switched on in it; nothing that applies
// at once to who can sign in, or how, is in it. Once nothing else is left
// to create or change, the enable phase, its own approval: security
// defaults turned off first, when the policies replace them (the plan
// stops if that fails), then each report-only policy switched on, each
// with its sign-in impact in its label, then every other change that
// applies at once (a switched-on policy changed, an authentication method
// or the Temporary Access Pass turned off, security defaults turned on,
// and, while a switched-on policy requires a compliant device, a
// compliance change that makes devices noncompliant), each labelled so and
// saying to whom. Each enable step carries the policy's modifiedDateTime
// as Graph gave it, so that graph does not switch on a policy changed
// since the plan. After it, a plan has no steps: a second apply changes
// nothing.
//
// What a tenant's object sets and the baseline does not describe (a
// policy's excluded roles, platforms, terms of use, session controls; a
// compliance policy's
// minimum OS version the baseline sets none of) is never removed: it is
// drift and a person's to decide (a conflict alone; kept by an update of
// what the baseline does describe, whose body nulls nothing).
//
// What Graph v1.0 cannot read or set is left to a person
// (BaselinePlan.LeftToDo), never planned as a change no call can make:
// self-service password reset, a disabled policy's state, a changed named
// location; so is what the tenant has no licence for (Conditional Access
// without Entra ID P1, compliance policies without Intune). A Windows
// compliance policy's firewall and antivirus are written as any other
// setting (activeFirewallRequired and antivirusRequired are in Graph v1.0's
// windows10CompliancePolicy, though not in the SDK's v1.0 metadata).
//
// # Files
//
// A baselines directory holds YAML files (*.yaml, *.yml, directly in it, read
// in lexical order). Each names its scope, as policy files do: {global: true}
// or {tenant: T}. The file name does not decide the scope, the key does. Every
// other key is optional:
//
//	scope: {tenant: contoso}
//	security_defaults: false            # usually left out (see Baseline.SecurityDefaults)
//	named_locations:
//	  - name: Contoso HQ
//	    cidrs: [203.0.113.0/24]
//	    trusted: true
//	conditional_access:
//	  - name: Block outside HQ for finance
//	    users:                          # all: true, roles: [...] and/or groups: [...]
//	      groups: [Finance]
//	      exclude_groups: [Break Glass Accounts]
//	      exclude_users: [breakglass@contoso.onmicrosoft.com]
//	    apps: [all]                     # all, office365 or application ids
//	    client_app_types: [all]         # all, browser, mobileAppsAndDesktopClients, exchangeActiveSync, other
//	    locations: {include: [all], exclude: [Contoso HQ]}   # named locations, all, all_trusted
//	    grant: block                    # mfa, compliantDevice or block
//	  - name: Require compliant devices for admins
//	    remove: true                    # drop an inherited item
//	auth_methods:
//	  temporary_access_pass: {enabled: true, lifetime_minutes: 120, usable_once: true}
//	  authenticator: true
//	  fido2: true
//	  sms: false
//	sspr: {enabled: true, methods_required: 2}
//	compliance:
//	  - name: Windows workstations
//	    platform: windows               # windows: bitlocker, firewall, antivirus
//	    bitlocker: true                 # ios, android: block_jailbroken (root on Android)
//	    firewall: true                  # all: passcode, min_os_version
//	    antivirus: true
//	    min_os_version: 10.0.19045
//	    assign_to: [all_users]          # group names, all_users or all_devices
//	departments:
//	  - name: Sales
//	    groups: [Sales, All Staff]
//	    licenses: [SPE_E3]
//
// Unknown keys, wrong types and bad values are errors, each reported as
// "file:line: message", all of them at once. So is a string (a name above
// all) with a space at either end, a non-ASCII space or blank, a control or
// invisible character, a Cyrillic or Greek letter that looks like a Latin
// one among Latin letters, or more than MaxNameLen characters: a tenant's
// objects are matched by name as a person reads it (sameName,
// tierzero.FoldName), and only a byte-equal name is the baseline's object;
// a lookalike is a conflict. A policy's exclusion group must be a security
// group that is not a Microsoft 365 group (any user may create one).
//
// # Layering
//
// Load layers, in this order: the built-in default (default.yaml, Default),
// then every global file, then, for each tenant, that tenant's files. Lists
// are layered item by item, keyed by name (as a person reads it): an item of
// the same name replaces the inherited one where it stood, a new name is
// appended, {name: N, remove: true} drops the inherited item (and is an
// error when there is none). Scalars given override; scalars left out are
// inherited (auth_methods: {sms: true} changes SMS alone). A tenant's files
// apply to that tenant only: Set.For(fabrikam) never sees contoso's.
//
// The result is validated for every tenant as well as for the global one:
// names unique, CIDRs parse (a trusted range is not the whole internet),
// platforms and their settings known, versions look like versions, named
// locations referred to exist, security defaults not on together with
// Conditional Access policies nor off with none, and no policy blocks all
// users without an exclusion (it could lock everyone out, the break-glass
// accounts too).
package baseline
