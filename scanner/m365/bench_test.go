package m365

import (
	"encoding/json"
	"testing"

	"github.com/sharedrift/sharedrift/tenant"
)

// The parsers below run once per shared item and per guest: a large
// tenant feeds them millions of objects per scan.

var benchPermissions = []json.RawMessage{
	json.RawMessage(`{"id":"edfa6655-011f-57b3-81ff-fe34f514e5dd","roles":["owner"],"grantedToV2":{"siteGroup":{"displayName":"Owners","id":"3","loginName":"Owners"}}}`),
	json.RawMessage(`{"id":"8e2d4b6a-1c3f-4a5e-b7d9-2f4a6c8e0b13","roles":["read"],"shareId":"u!adff124c409753fc9faa50ccc7062703","link":{"webUrl":"https://fabrikam-my.sharepoint.com/:w:/p/rkhan/EgNotes","scope":"anonymous","type":"view","preventsDownload":false},"expirationDateTime":"2026-09-30T00:00:00Z","hasPassword":false,"grantedToIdentitiesV2":[],"grantedToIdentities":[]}`),
	json.RawMessage(`{"id":"dXNlcnNfbGluaw","roles":["write"],"link":{"webUrl":"https://fabrikam.sharepoint.com/:x:/s/fin/EkPay","scope":"users","type":"edit"},"grantedToIdentitiesV2":[{"user":{"email":"Ann@Partner.com","displayName":"Ann","id":"a1"}},{"siteUser":{"email":"bob@partner.com","displayName":"Bob","id":"12","loginName":"i:0#.f|membership|bob@partner.com"}}]}`),
	json.RawMessage(`{"id":"b3JnX2xpbms","roles":["read"],"link":{"webUrl":"https://fabrikam.sharepoint.com/:x:/s/fin/EkOrg","scope":"organization","type":"view"},"inheritedFrom":{"driveId":"b!Qx1-fin","id":"f0d9fa83"}}`),
}

var benchDeltaItems = []json.RawMessage{
	json.RawMessage(`{"id":"e29bb234-289a-58f0-a776-b840a62303af","name":"root","root":{},"folder":{"childCount":1},"parentReference":{"driveId":"b!Qx1-fin","driveType":"documentLibrary"}}`),
	json.RawMessage(`{"id":"f0d9fa83-0d6b-5901-a4d3-3912ff886cec","name":"Payroll","parentReference":{"driveId":"b!Qx1-fin","driveType":"documentLibrary","id":"e29bb234-289a-58f0-a776-b840a62303af"},"folder":{"childCount":2}}`),
	json.RawMessage(`{"id":"01FIN8PAYROLL2026","name":"Payroll 2026.xlsx","parentReference":{"driveId":"b!Qx1-fin","driveType":"documentLibrary","id":"f0d9fa83-0d6b-5901-a4d3-3912ff886cec"},"file":{"mimeType":"application/octet-stream","hashes":{"quickXorHash":"AAAAAAAAAAAAAAAAAAAAAAAAAAA="}},"shared":{"scope":"anonymous"},"@microsoft.graph.sharedChanged":"True"}`),
	json.RawMessage(`{"id":"2353010204ddgg","name":"file5.txt","parentReference":{"driveId":"b!Qx1-fin","id":"f0d9fa83-0d6b-5901-a4d3-3912ff886cec"},"deleted":{"state":"deleted"}}`),
}

var benchGuests = []json.RawMessage{
	json.RawMessage(`{"id":"8b2c3d4e-0001-4f6a-9b0c-1d2e3f4a5b61","displayName":"quickdeals","mail":"quickdeals@mailinator.com","userPrincipalName":"quickdeals_mailinator.com#EXT#@fabrikam.onmicrosoft.com","userType":"Guest","externalUserState":"Accepted","externalUserStateChangeDateTime":"2024-11-04T12:00:00Z","createdDateTime":"2024-11-04T11:50:00Z","accountEnabled":true,"signInActivity":{"lastSignInDateTime":"2025-05-19T22:10:00Z","lastSignInRequestId":"049ff21f","lastNonInteractiveSignInDateTime":null,"lastNonInteractiveSignInRequestId":null,"lastSuccessfulSignInDateTime":"2025-05-19T22:10:00Z","lastSuccessfulSignInRequestId":"049ff21f"}}`),
	json.RawMessage(`{"id":"8b2c3d4e-0002-4f6a-9b0c-1d2e3f4a5b62","displayName":"Lena Fischer","mail":"lena.fischer@contractor-hub.net","userPrincipalName":"lena.fischer_contractor-hub.net#EXT#@fabrikam.onmicrosoft.com","userType":"Guest","externalUserState":"PendingAcceptance","externalUserStateChangeDateTime":"2025-11-15T09:00:00Z","createdDateTime":"2025-11-15T09:00:00Z","accountEnabled":true,"signInActivity":{"lastSignInDateTime":null,"lastNonInteractiveSignInDateTime":null,"lastSuccessfulSignInDateTime":null}}`),
}

var benchRefs = []json.RawMessage{
	json.RawMessage(`{"@odata.type":"#microsoft.graph.user","id":"263a1289-8282-4bf7-91f7-550d9bba8c02","displayName":"Sara Davis"}`),
	json.RawMessage(`{"@odata.type":"#microsoft.graph.group","id":"08143e93-989e-4771-ac78-803bcdac52d2","displayName":"Finance"}`),
}

func BenchmarkParsePermissions(b *testing.B) {
	base := tenant.Link{DriveID: "b!Qx1-fin", ItemID: "01FIN8PAYROLL2026"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePermissions(benchPermissions, base); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDeltaItems(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseDeltaItems(benchDeltaItems); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseGuests(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseGuests(benchGuests, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRefs(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRefs(benchRefs); err != nil {
			b.Fatal(err)
		}
	}
}
