package m365test

import (
	"fmt"
	"time"
)

// AddAnyoneFile adds a file to a drive, fixture or generated, under the
// drive's root, and shares it with an Anyone view link, as a user
// uploading and sharing a file would: the item shows in the drive's delta
// as changed and its subscriptions are notified. It returns the item and
// permission ids.
func (s *Server) AddAnyoneFile(driveID, name string) (itemID, permID string, err error) {
	if s.gen != nil {
		return s.addGeneratedAnyoneFile(driveID, name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := "graph/v1.0/drives/" + driveID + "/root/delta"
	doc, ok := s.docs[key].(map[string]any)
	if !ok {
		return "", "", fmt.Errorf("no drive %s in the fixture", driveID)
	}
	all, _ := doc["value"].([]any)
	var root map[string]any
	for _, it := range all {
		if m, ok := it.(map[string]any); ok && m["root"] != nil {
			root = m
		}
	}
	if root == nil {
		return "", "", fmt.Errorf("drive %s has no root item in its delta fixture", driveID)
	}
	rootRef, _ := root["parentReference"].(map[string]any)
	itemID, permID = "01NEW"+s.newID()[24:], s.newID()
	now := s.clock.Now().UTC().Format(time.RFC3339)
	item := map[string]any{
		"id": itemID, "name": name,
		"parentReference": map[string]any{"driveId": driveID, "driveType": rootRef["driveType"], "id": root["id"]},
		"createdDateTime": now, "lastModifiedDateTime": now, "size": float64(1024),
		"file":   map[string]any{"mimeType": "application/octet-stream", "hashes": map[string]any{"quickXorHash": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}},
		"shared": map[string]any{"scope": "anonymous"},
	}
	doc["value"] = append(all, item)
	s.docs["graph/v1.0/drives/"+driveID+"/items/"+itemID+"/permissions"] = map[string]any{
		"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#drives('" + driveID + "')/items('" + itemID + "')/permissions",
		"value": []any{map[string]any{
			"id": permID, "roles": []any{"read"}, "hasPassword": false, "shareId": "u!" + permID[24:],
			"grantedToIdentitiesV2": []any{}, "grantedToIdentities": []any{},
			"link": map[string]any{"scope": "anonymous", "type": "view", "webUrl": "https://example.invalid/:x:/s/" + itemID, "preventsDownload": false},
		}},
	}
	s.touchItem(driveID, itemID)
	return itemID, permID, nil
}
