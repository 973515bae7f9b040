#!/bin/sh
# gitdesk's scheduled round, for cron or a CI schedule: bring in what others
# pushed, take mail in, apply the rules, push, send the outbox, push. In that
# order: the rules see the mail that just came in, and the mail they write goes
# out in the same round, but only once their commits are on the remote (when a
# requester's answer reached another clone meanwhile, sync drops the rule's
# commit, mail and all, and the rule judges the ticket again next round). Every
# step is safe to repeat; a push that lost a race is retried. See
# docs/automations.md.
#
#   GITDESK_FETCH_MAIL  a command that fetches new mail into GITDESK_MAILDIR
#                       (e.g. "mbsync help", "getmail -r ~/.getmail/help"); optional
#   GITDESK_MAILDIR     the Maildir to take in from; optional
#   GITDESK_SMTP_HOST   where mail is sent (with GITDESK_SMTP_USER, _PASSWORD), or
#                       mail.smtp.host in the config; with neither the outbox waits
#                       for the next round that has one
#
# Cron, every 15 minutes, in a clone of the desk with its hooks installed:
#   */15 * * * *  cd /srv/helpdesk && sh docs/ci/gitdesk-round.sh >> .git/gitdesk-round.log 2>&1
set -eu

# Another clone may have pushed meanwhile: integrate and try again, a few times.
push() {
    attempt=1
    until gitdesk sync; do
        if [ "$attempt" -ge 5 ]; then
            echo "gitdesk-round: could not push after $attempt attempts" >&2
            exit 1
        fi
        sleep $((attempt * 3))
        attempt=$((attempt + 1))
    done
}

gitdesk sync
if [ -n "${GITDESK_FETCH_MAIL:-}" ]; then
    sh -c "$GITDESK_FETCH_MAIL"
fi
if [ -n "${GITDESK_MAILDIR:-}" ]; then
    gitdesk intake maildir "$GITDESK_MAILDIR"
fi
gitdesk rules run
push
gitdesk mail send --if-set
push
