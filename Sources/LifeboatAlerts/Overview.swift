// LifeboatAlerts — telling people when something is wrong.
//
// Job: turn the alert conditions (LifeboatPosture: `Posture.alertConditions`, decided once)
// into messages, at most once per change: a condition is sent when it appears or changes,
// again after the reminder interval, and a "resolved" message when it is gone
// (`AlertBook.decide`, a pure function of the conditions, the alert jobs already recorded
// and the time). Deliver them by e-mail (`SMTPClient`: STARTTLS or TLS, AUTH PLAIN/LOGIN,
// swift-nio) and webhooks (`WebhookClient`: Lifeboat's JSON, Slack, Teams), retrying with
// backoff, and record every delivery as a job of kind `alert` in the catalog.
//
// Main types: `AlertMessage` (what is said, and its renderings: text mail, JSON, Slack,
// Teams), `AlertBook` (decide, deliver, record), `AlertDelivery` (the retry schedule and
// the two transports).
//
// Rules: an alert never blocks or fails a backup (delivery has its own time budget and
// failures are recorded, not thrown); secrets (SMTP password, a webhook's path) never appear
// in a job record or a log; the state of each alert is the catalog's alert jobs — there is no
// second store to disagree with them.
// Where a change goes: a new transport is a file here and a case in `AlertTarget.Kind`
// (LifeboatPlan); a new condition is a `Reason` that alerts (LifeboatPosture).
