package baseline

import "strings"

// roleTemplates are the role template ids of the directory roles a
// Conditional Access policy may name (AdminRoles), from Microsoft's
// "Microsoft Entra built-in roles" reference: the same in every tenant, so a
// static table, not a lookup (a policy's includeRoles holds these ids).
var roleTemplates = map[string]string{
	"Application Administrator":               "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
	"Authentication Administrator":            "c4e39bd9-1100-46d3-8c65-fb160da0071f",
	"Billing Administrator":                   "b0f54661-2d74-4c50-afa3-1ec803f12efe",
	"Cloud Application Administrator":         "158c047a-c907-4556-b7ef-446551a6b5f7",
	"Conditional Access Administrator":        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
	"Exchange Administrator":                  "29232cdf-9323-42fd-ade2-1d097af3e4de",
	"Global Administrator":                    "62e90394-69f5-4237-9190-012177145e10",
	"Global Reader":                           "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
	"Helpdesk Administrator":                  "729827e3-9c14-49f7-bb1b-9608f156bbb8",
	"Intune Administrator":                    "3a2c62db-5318-420d-8d74-23affee5d9d5",
	"Password Administrator":                  "966707d0-3269-4727-9be2-8c3a10f19b9d",
	"Privileged Authentication Administrator": "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
	"Privileged Role Administrator":           "e8611ab8-c189-46e8-94e1-60213ab1f814",
	"Security Administrator":                  "194ae4cb-b126-40b2-bd5b-6091b380977d",
	"Security Reader":                         "5d6b6bb7-de71-4623-b4af-96380a352509",
	"SharePoint Administrator":                "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
	"Teams Administrator":                     "69091246-20e8-4a56-aa4d-066075b2a7a8",
	"User Administrator":                      "fe930be7-5e62-47db-91af-98c3a49a38b1",
}

// roleID returns the template id of the directory role named name
// (case-insensitively).
func roleID(name string) (string, bool) {
	for n, id := range roleTemplates {
		if sameName(n, name) {
			return id, true
		}
	}
	return "", false
}

// roleName returns the display name of the role template id, or the id
// itself for a role the table does not know (it then differs from every
// name a baseline can give).
func roleName(id string) string {
	for n, rid := range roleTemplates {
		if strings.EqualFold(rid, id) {
			return n
		}
	}
	return id
}
