package m365

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// TokenProvider returns a bearer token for an OAuth scope such as
// "https://graph.microsoft.com/.default".
type TokenProvider interface {
	Token(ctx context.Context, scope string) (string, error)
}

// invalidator is implemented by providers that cache tokens, so that a
// token the service rejected as expired is not offered again.
type invalidator interface {
	Invalidate(scope string)
}

// StaticToken is a TokenProvider returning the same token for every scope;
// tests use it against the fake tenant.
type StaticToken string

// Token returns the static token.
func (t StaticToken) Token(context.Context, string) (string, error) { return string(t), nil }

// refreshMargin renews a cached token this long before it expires.
const refreshMargin = 5 * time.Minute

// CredentialTokens adapts an azidentity credential to TokenProvider and
// keeps one token per scope until shortly before it expires.
type CredentialTokens struct {
	cred azcore.TokenCredential
	now  func() time.Time

	mu    sync.Mutex
	cache map[string]azcore.AccessToken
}

// NewCredentialTokens wraps cred.
func NewCredentialTokens(cred azcore.TokenCredential) *CredentialTokens {
	return &CredentialTokens{cred: cred, now: time.Now, cache: map[string]azcore.AccessToken{}}
}

// Token returns a cached token for scope or fetches a new one.
func (c *CredentialTokens) Token(ctx context.Context, scope string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.cache[scope]; ok && c.now().Add(refreshMargin).Before(t.ExpiresOn) {
		return t.Token, nil
	}
	t, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return "", fmt.Errorf("get token for %s: %w", scope, err)
	}
	c.cache[scope] = t
	return t.Token, nil
}

// Invalidate drops the cached token for scope.
func (c *CredentialTokens) Invalidate(scope string) {
	c.mu.Lock()
	delete(c.cache, scope)
	c.mu.Unlock()
}
