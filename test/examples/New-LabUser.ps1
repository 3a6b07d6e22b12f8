# An example provisioning script, as midPoint's AD/LDAP connector runs it with
# the "variables" argument style: the connector sets $identity, $givenName and
# $groups in front of this code.
Write-Output "Provisioning $identity ($givenName)"
foreach ($g in @($groups)) {
    if ($g) { Write-Output "  adding to group: $g" }
}
Write-Output "Grüße aus PowerShell $($PSVersionTable.PSVersion) ✓"
if (-not $identity) {
    Write-Error "No identity given"
    exit 2
}
exit 0
