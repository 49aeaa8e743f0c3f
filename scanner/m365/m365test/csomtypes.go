package m365test

// The properties of the CSOM Tenant and SiteProperties objects, as real
// answers carry them: every property name in the ProcessQuery answers
// recorded from live tenants by the PnP Core SDK's tests (repository
// pnp/pnpcore, MIT licence, commit 95f18404b58a671b1cc10661b7a1bce115b29fcb;
// Tenant from the SetTenantProperties recordings, SiteProperties from the
// SiteManager and SiteCreation recordings). A query naming a property in
// neither these lists nor the fixture's object is refused as the service
// refuses it; the service adds properties over time, so a fixture's own
// property names count as declared too.
var (
	csomTenantProperties = csomNames(
		"AIBuilderDefaultPowerAppsEnvironment", "AIBuilderEnabled", "AIBuilderSiteListFileName",
		"AllowCommentsTextOnEmailEnabled", "AllowDownloadingNonWebViewableFiles", "AllowedDomainListForSyncClient",
		"AllowEditing", "AllowGuestUserShareToUsersNotInSiteCollection", "AllowLimitedAccessOnUnmanagedDevices",
		"AllowOverrideForBlockUserInfoVisibility", "AllowSelectSGsInODBListInTenant", "AnyoneLinkTrackUsers",
		"ApplyAppEnforcedRestrictionsToAdHocRecipients", "AuthContextResilienceMode",
		"BccExternalSharingInvitations", "BccExternalSharingInvitationsList", "BlockAccessOnUnmanagedDevices",
		"BlockDownloadLinksFileType", "BlockDownloadOfAllFilesForGuests",
		"BlockDownloadOfAllFilesOnUnmanagedDevices", "BlockDownloadOfViewableFilesForGuests",
		"BlockDownloadOfViewableFilesOnUnmanagedDevices", "BlockMacSync", "BlockSendLabelMismatchEmail",
		"BlockUserInfoVisibility", "BlockUserInfoVisibilityInOneDrive", "BlockUserInfoVisibilityInSharePoint",
		"ChannelMeetingRecordingPermission", "CommentsOnFilesDisabled", "CommentsOnListItemsDisabled",
		"CommentsOnSitePagesDisabled", "CompatibilityRange", "ConditionalAccessPolicy",
		"ConditionalAccessPolicyErrorHelpLink", "ContentTypeSyncSiteTemplatesList",
		"CoreLoopDefaultSharingLinkRole", "CoreLoopDefaultSharingLinkScope", "CoreLoopSharingCapability",
		"CustomizedExternalSharingServiceUrl", "DefaultContentCenterSite", "DefaultLinkPermission",
		"DefaultODBMode", "DefaultSharingLinkType", "DisableAddToOneDrive", "DisableBackToClassic",
		"DisableCustomAppAuthentication", "DisabledModernListTemplateIds", "DisabledWebPartIds", "DisableListSync",
		"DisableOutlookPSTVersionTrimming", "DisablePersonalListCreation", "DisableReportProblemDialog",
		"DisableSpacesActivation", "DisallowInfectedFileDownload", "DisplayNamesOfFileViewers",
		"DisplayNamesOfFileViewersInSpo", "DisplayStartASiteOption", "EmailAttestationEnabled",
		"EmailAttestationReAuthDays", "EmailAttestationRequired", "EnableAIPIntegration", "EnableAutoNewsDigest",
		"EnableAzureADB2BIntegration", "EnabledFlightAllowAADB2BSkipCheckingOTP", "EnableGuestSignInAcceleration",
		"EnableMinimumVersionRequirement", "EnableMipSiteLabel", "EnablePromotedFileHandlers",
		"ExcludedFileExtensionsForSyncClient", "ExternalServicesEnabled", "ExternalUserExpirationRequired",
		"ExternalUserExpireInDays", "FileAnonymousLinkType", "FilePickerExternalImageSearchEnabled",
		"FolderAnonymousLinkType", "GuestSharingGroupAllowListInTenant",
		"GuestSharingGroupAllowListInTenantByPrincipalIdentity", "HasAdminCompletedCUConfiguration",
		"HasIntelligentContentServicesCapability", "HasTopicExperiencesCapability", "HideSyncButtonOnDocLib",
		"HideSyncButtonOnODB", "IBImplicitGroupBased", "ImageTaggingOption", "IncludeAtAGlanceInShareEmails",
		"InformationBarriersSuspension", "IPAddressAllowList", "IPAddressEnforcement", "IPAddressWACTokenLifetime",
		"IsAppBarTemporarilyDisabled", "IsCollabMeetingNotesFluidEnabled", "IsFluidEnabled",
		"IsHubSitesMultiGeoFlightEnabled", "IsMnAFlightEnabled", "IsMultiGeo",
		"IsUnmanagedSyncClientForTenantRestricted", "IsUnmanagedSyncClientRestrictionFlightEnabled",
		"IsWBFluidEnabled", "LabelMismatchEmailHelpLink", "LegacyAuthProtocolsEnabled", "LimitedAccessFileType",
		"MachineLearningCaptureEnabled", "MarkNewFilesSensitiveByDefault", "MediaTranscription",
		"MobileFriendlyUrlEnabledInTenant", "NoAccessRedirectUrl", "NotificationsInOneDriveForBusinessEnabled",
		"NotificationsInSharePointEnabled", "NotifyOwnersWhenInvitationsAccepted", "NotifyOwnersWhenItemsReshared",
		"ODBAccessRequests", "ODBMembersCanShare", "ODBSharingCapability", "OfficeClientADALDisabled",
		"OneDriveForGuestsEnabled", "OneDriveLoopDefaultSharingLinkRole", "OneDriveLoopDefaultSharingLinkScope",
		"OneDriveLoopSharingCapability", "OneDriveStorageQuota", "OptOutOfGrooveBlock", "OptOutOfGrooveSoftBlock",
		"OrgNewsSiteUrl", "OrphanedPersonalSitesRetentionPeriod", "OwnerAnonymousNotification",
		"PermissiveBrowserFileHandlingOverride", "PreventExternalUsersFromResharing",
		"ProvisionSharedWithEveryoneFolder", "PublicCdnAllowedFileTypes", "PublicCdnEnabled", "PublicCdnOrigins",
		"RequireAcceptingAccountMatchInvitedAccount", "RequireAnonymousLinksExpireInDays", "ResourceQuota",
		"ResourceQuotaAllocated", "RestrictedOneDriveLicense", "RootSiteUrl", "SearchResolveExactEmailOrUPN",
		"SharingAllowedDomainList", "SharingBlockedDomainList", "SharingCapability", "SharingDomainRestrictionMode",
		"ShowAllUsersClaim", "ShowEveryoneClaim", "ShowEveryoneExceptExternalUsersClaim",
		"ShowNGSCDialogForSyncOnODB", "ShowPeoplePickerSuggestionsForGuestUsers", "SignInAccelerationDomain",
		"SocialBarOnSitePagesDisabled", "SpecialCharactersStateInFileFolderNames", "StartASiteFormUrl",
		"StopNew2010Workflows", "StopNew2013Workflows", "StorageQuota", "StorageQuotaAllocated",
		"StreamLaunchConfig", "StreamLaunchConfigLastUpdated", "StreamLaunchConfigUpdateCount",
		"SyncAadB2BManagementPolicy", "SyncPrivacyProfileProperties", "UseFindPeopleInPeoplePicker",
		"UsePersistentCookiesForExplorerView", "UserVoiceForFeedbackEnabled", "ViewersCanCommentOnMediaDisabled",
		"ViewInFileExplorerEnabled", "WhoCanShareAllowListInTenant",
		"WhoCanShareAllowListInTenantByPrincipalIdentity", "Workflow2010Disabled", "Workflows2013State",
	)
	csomSiteProperties = csomNames(
		"AllowDownloadingNonWebViewableFiles", "AllowEditing", "AllowSelfServiceUpgrade",
		"AnonymousLinkExpirationInDays", "ArchiveStatus", "AuthContextStrength",
		"AuthenticationContextLimitedAccess", "AuthenticationContextName", "AverageResourceUsage",
		"BlockDownloadLinksFileType", "BlockDownloadMicrosoft365GroupIds", "BlockDownloadPolicy",
		"BlockGuestsAsSiteAdmin", "BonusDiskQuota", "ClearRestrictedAccessControl", "CommentsOnSitePagesDisabled",
		"CompatibilityLevel", "ConditionalAccessPolicy", "CurrentResourceUsage", "DefaultLinkPermission",
		"DefaultLinkToExistingAccess", "DefaultLinkToExistingAccessReset", "DefaultShareLinkRole",
		"DefaultShareLinkScope", "DefaultSharingLinkType", "DenyAddAndCustomizePages", "Description",
		"DisableAppViews", "DisableCompanyWideSharingLinks", "DisableFlows", "ExcludeBlockDownloadPolicySiteOwners",
		"ExcludeBlockDownloadSharePointGroups", "ExcludedBlockDownloadGroupIds", "ExternalUserExpirationInDays",
		"GroupId", "GroupOwnerLoginName", "HasHolds", "HubSiteId", "IBMode", "IBSegments", "IBSegmentsToAdd",
		"IBSegmentsToRemove", "IsGroupOwnerSiteAdmin", "IsHubSite", "IsTeamsChannelConnected", "IsTeamsConnected",
		"LastContentModifiedDate", "Lcid", "LimitedAccessFileType", "ListsShowHeaderAndNavigation", "LockIssue",
		"LockState", "LoopDefaultSharingLinkRole", "LoopDefaultSharingLinkScope", "LoopOverrideSharingCapability",
		"LoopSharingCapability", "MediaTranscription", "OverrideBlockUserInfoVisibility",
		"OverrideSharingCapability", "OverrideTenantAnonymousLinkExpirationPolicy",
		"OverrideTenantExternalUserExpirationPolicy", "Owner", "OwnerEmail", "OwnerLoginName", "OwnerName",
		"PWAEnabled", "ReadOnlyAccessPolicy", "ReadOnlyForBlockDownloadPolicy", "ReadOnlyForUnmanagedDevices",
		"RelatedGroupId", "RequestFilesLinkEnabled", "RequestFilesLinkExpirationInDays", "RestrictedAccessControl",
		"RestrictedAccessControlGroups", "RestrictedAccessControlGroupsToAdd",
		"RestrictedAccessControlGroupsToRemove", "RestrictedToRegion", "SandboxedCodeActivationCapability",
		"SensitivityLabel", "SensitivityLabel2", "SetOwnerWithoutUpdatingSecondaryAdmin",
		"SharingAllowedDomainList", "SharingBlockedDomainList", "SharingCapability", "SharingDomainRestrictionMode",
		"SharingLockDownCanBeCleared", "SharingLockDownEnabled", "ShowPeoplePickerSuggestionsForGuestUsers",
		"SiteDefinedSharingCapability", "SiteId", "SocialBarOnSitePagesDisabled", "Status", "StorageMaximumLevel",
		"StorageQuotaType", "StorageUsage", "StorageWarningLevel", "TeamsChannelType", "Template", "TimeZoneId",
		"Title", "TitleTranslations", "Url", "UserCodeMaximumLevel", "UserCodeWarningLevel", "WebsCount",
	)
)

func csomNames(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
