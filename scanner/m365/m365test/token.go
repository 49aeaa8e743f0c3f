package m365test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/scanner/m365"
)

// Client assertion type of a certificate credential (RFC 7523).
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// TokenURL is the fake's Entra token endpoint for the fixture's tenant
// (POST, form-encoded client credentials grant).
func (s *Server) TokenURL() string {
	return s.srv.URL + "/" + s.meta.TenantID + "/oauth2/v2.0/token"
}

// tokenEndpoint answers the client credentials grant as Entra does: a
// client secret or a signed client assertion (a certificate) buys an
// access token for the scope's audience that says which it was
// (appidacr), with the fixture's roles. The assertion's signature is not
// checked: the fake trusts the certificate it is shown.
func (s *Server) tokenEndpoint(method, path string, h http.Header, body []byte) *reply {
	if method != http.MethodPost {
		return oauthError(http.StatusMethodNotAllowed, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.")
	}
	if !strings.HasPrefix(path, "/"+s.meta.TenantID+"/") {
		return oauthError(http.StatusBadRequest, "invalid_tenant", "AADSTS90002: Tenant not found.")
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return oauthError(http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
	}
	f, err := url.ParseQuery(string(body))
	if err != nil || f.Get("grant_type") != "client_credentials" {
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
	}
	if f.Get("client_id") == "" {
		return oauthError(http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'client_id'.")
	}
	var cred Credential
	switch {
	case f.Get("client_secret") != "" && f.Get("client_assertion") == "":
		cred = CredentialSecret
	case f.Get("client_assertion") != "" && f.Get("client_assertion_type") == jwtBearer && f.Get("client_secret") == "":
		cred = CredentialCertificate
	default:
		return oauthError(http.StatusUnauthorized, "invalid_client", "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")
	}
	e := s.Endpoints()
	aud, found := m365.AudienceGraph, false
	for _, a := range m365.Audiences {
		if e.Scope(a) == f.Get("scope") {
			aud, found = a, true
		}
	}
	if !found {
		return oauthError(http.StatusBadRequest, "invalid_scope", "AADSTS1002012: The provided value for scope "+f.Get("scope")+" is not valid.")
	}
	tok := s.TokenWith(cred, aud, time.Hour, s.meta.Roles[aud]...)
	return jsonReply(http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
}

func oauthError(status int, code, desc string) *reply {
	b, _ := json.Marshal(map[string]any{"error": code, "error_description": desc, "error_codes": []int{}})
	return &reply{status: status, header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, body: b}
}
