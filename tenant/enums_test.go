package tenant

import "testing"

// checkVocab holds a table to what its users rely on: one entry per
// spelling, integer and baseline name, and every mapping reversible.
func checkVocab[T ~string](t *testing.T, vo *Vocab[T]) {
	t.Run(vo.Name, func(t *testing.T) {
		values, codes, names := map[T]bool{}, map[int64]bool{}, map[string]bool{}
		for _, term := range vo.Terms {
			if term.Value == "" || values[term.Value] {
				t.Errorf("value %q empty or repeated", term.Value)
			}
			values[term.Value] = true
			if term.Code >= 0 {
				if codes[term.Code] {
					t.Errorf("code %d repeated", term.Code)
				}
				codes[term.Code] = true
				if got := vo.FromCode(term.Code); got != term.Value {
					t.Errorf("FromCode(%d) = %q, want %q", term.Code, got, term.Value)
				}
				if n, ok := vo.Code(term.Value); !ok || n != term.Code {
					t.Errorf("Code(%q) = %d, %v", term.Value, n, ok)
				}
			}
			if term.Baseline != "" {
				if names[term.Baseline] {
					t.Errorf("baseline name %q repeated", term.Baseline)
				}
				names[term.Baseline] = true
				if v, ok := vo.FromBaseline(term.Baseline); !ok || v != term.Value {
					t.Errorf("FromBaseline(%q) = %q, %v", term.Baseline, v, ok)
				}
				if vo.BaselineName(term.Value) != term.Baseline {
					t.Errorf("BaselineName(%q) = %q", term.Value, vo.BaselineName(term.Value))
				}
				if term.Rank < 0 {
					t.Errorf("%q: a baseline can name it but it has no rank", term.Value)
				}
			}
			for _, a := range term.Also {
				if vo.Parse(a) != term.Value {
					t.Errorf("Parse(%q) = %q, want %q", a, vo.Parse(a), term.Value)
				}
			}
			r, ok := vo.Rank(term.Value)
			if ok != (term.Rank >= 0) || (ok && r != term.Rank) {
				t.Errorf("Rank(%q) = %d, %v; table says %d", term.Value, r, ok, term.Rank)
			}
		}
		const alien = "valueFromTheFuture"
		if vo.Parse(alien) != T(alien) || vo.Known(T(alien)) {
			t.Errorf("an unknown spelling must be kept verbatim and unknown")
		}
		if _, ok := vo.Rank(T(alien)); ok {
			t.Errorf("an unknown value must not rank")
		}
		if _, ok := vo.Rank(""); ok {
			t.Errorf("an empty value must not rank")
		}
		if vo.FromCode(99) != "99" {
			t.Errorf("an unknown integer must be kept as its decimal text, got %q", vo.FromCode(99))
		}
	})
}

func TestVocabularies(t *testing.T) {
	checkVocab(t, SharingLevels)
	checkVocab(t, DomainModes)
	checkVocab(t, LinkScopes)
	checkVocab(t, LinkTypes)
	checkVocab(t, LinkRoles)
	checkVocab(t, InviteFroms)
	checkVocab(t, GuestAccesses)
	checkVocab(t, CalendarActions)
	checkVocab(t, FreeBusyLevels)
}

// TestLinkTypesDocumented: every sharingLink type Microsoft documents has
// a place (or a deliberate lack of one), and view-only is exactly the
// kinds that at most view.
func TestLinkTypesDocumented(t *testing.T) {
	viewOnly := map[LinkType]bool{LinkTypeBlocksDownload: true, LinkTypeView: true, LinkTypeEmbed: true}
	for _, lt := range []LinkType{"view", "edit", "embed", "review", "blocksDownload", "createOnly", "addressBar", "adminDefault"} {
		if !LinkTypes.Known(lt) {
			t.Errorf("link type %q not modelled", lt)
		}
		if lt.ViewOnly() != viewOnly[lt] {
			t.Errorf("%q: ViewOnly = %v", lt, lt.ViewOnly())
		}
	}
	for _, ro := range []LinkRole{"read", "write", "owner", "restrictedView", "submitOnly"} {
		if !LinkRoles.Known(ro) {
			t.Errorf("role %q not modelled", ro)
		}
	}
	if GuestAccessFromRole(GuestRoleRestricted) != GuestAccessRestricted || GuestRoleID(GuestAccessLimited) != GuestRoleLimited {
		t.Errorf("guest role IDs do not map both ways")
	}
	if GuestAccessFromRole("restricted") != "" {
		t.Errorf("a level name is not a role ID")
	}
}
