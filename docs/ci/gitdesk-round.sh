#!/bin/sh
# gitdesk's scheduled round, for cron or a CI schedule: bring in what others
# pushed, take mail in, apply the rules, push, send the outbox, push. In that
# order: the rules see the mail that just came in, and the mail they write goes
# out in the same round, but only once their commits are on the remote (when a
# requester's answer reached another clone meanwhile, sync drops the rule's
# commit, mail and all, and the rule judges the ticket again next round). Every
# step is safe to repeat; a push that lost a race is retried; a step that fails
# does not stop the others, and the round then exits 1. See docs/automations.md.
#
#   GITDESK_FETCH_MAIL  a command that fetches new mail into GITDESK_MAILDIR
#                       (e.g. "mbsync help", "getmail -r ~/.getmail/help"); optional
#   GITDESK_MAILDIR     the Maildir to take in from; optional
#   GITDESK_SMTP_HOST   where mail is sent (with GITDESK_SMTP_USER, _PASSWORD), or
#                       mail.smtp.host in the config; with neither the outbox waits
#                       for the next round that has one
#
# Cron, every 15 minutes, in a clone of the desk with its hooks installed. Cron's PATH is
# /usr/bin:/bin: name where gitdesk is (pipx puts it in ~/.local/bin), and the Maildir:
#   */15 * * * *  cd /srv/helpdesk && PATH=$HOME/.local/bin:$PATH GITDESK_MAILDIR=$HOME/Maildir sh docs/ci/gitdesk-round.sh >> .git/gitdesk-round.log 2>&1
set -u

if ! command -v gitdesk >/dev/null 2>&1; then
    echo "gitdesk-round: gitdesk is not on PATH ($PATH): set PATH in the crontab line, e.g." \
         "PATH=\$HOME/.local/bin:\$PATH (where pipx installs it)" >&2
    exit 1
fi

# Each step on its own: a broken rules file must not keep the mail that came in from being
# pushed, nor the agents' replies in the outbox from being sent. A failed step is said, the
# round goes on, and the round exits 1 at the end, so cron's log and CI show it.
failed=0
step() {
    "$@" && return 0
    status=$?
    echo "gitdesk-round: $* failed (exit $status); the rest of the round goes on" >&2
    failed=1
}

# sync integrates what another clone pushed meanwhile and tries again itself when a push
# loses that race; a push the remote refuses (a protected branch) is said once, with its reason.
step gitdesk sync
if [ -n "${GITDESK_FETCH_MAIL:-}" ]; then
    step sh -c "$GITDESK_FETCH_MAIL"
fi
if [ -n "${GITDESK_MAILDIR:-}" ]; then
    step gitdesk intake maildir "$GITDESK_MAILDIR"
else  # said each round: a desk whose mail is taken in elsewhere can ignore it
    echo "gitdesk-round: GITDESK_MAILDIR is not set: no mail taken in this round" >&2
fi
step gitdesk rules run
step gitdesk sync
step gitdesk mail send --if-set
step gitdesk sync
exit "$failed"
