//! `[alerts]`: the alert webhook of [`Config::auditor`](super::Config::auditor).

use super::{AlertSettings, ConfigError};
use crate::audit::AuditorBuilder;

impl AlertSettings {
    /// `builder` with this webhook as its alert sink.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for a missing or invalid URL, a zero queue,
    /// or a build without the `audit-webhook` feature: an `[alerts]` table is
    /// never ignored.
    pub(super) fn apply(&self, builder: AuditorBuilder) -> Result<AuditorBuilder, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid(format!("[alerts] {message}"));
        let url = match self.webhook.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => url,
            _ => {
                return Err(invalid(
                    "has no webhook: set webhook = \"https://...\" (or RAMPGATE_ALERTS_WEBHOOK), or remove [alerts]".into(),
                ));
            }
        };
        if self.queue == Some(0) {
            return Err(invalid("queue must be positive".into()));
        }
        self.sink(url, builder).map_err(invalid)
    }

    #[cfg(feature = "audit-webhook")]
    fn sink(&self, url: &str, builder: AuditorBuilder) -> Result<AuditorBuilder, String> {
        // The sink's error shows the URL without what may be secret in it.
        let hook = crate::audit::WebhookSink::new(url).map_err(|e| format!("webhook: {e}"))?;
        let alerts = hook
            .retries(self.retries.unwrap_or(3))
            .for_alerts()
            .text(self.text);
        Ok(builder
            .alerts(alerts)
            .alert_capacity(self.queue.unwrap_or(crate::audit::DEFAULT_ALERT_CAPACITY)))
    }

    #[cfg(not(feature = "audit-webhook"))]
    fn sink(&self, _url: &str, _builder: AuditorBuilder) -> Result<AuditorBuilder, String> {
        Err("needs rampgate built with the `audit-webhook` feature: enable it, or remove [alerts] (and RAMPGATE_ALERTS_WEBHOOK)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AlertSettings, Config, ConfigError};

    const URL: &str = "https://hooks.example.com/services/x";

    /// The message of the configuration error `text` gives when the auditor
    /// is built.
    fn error(text: &str) -> String {
        match Config::from_toml(text).unwrap().auditor() {
            Err(ConfigError::Invalid(message)) => message,
            Err(other) => panic!("{text}: {other}"),
            Ok(_) => panic!("{text}: accepted"),
        }
    }

    #[tokio::test]
    async fn an_alerts_table_without_a_usable_webhook_is_an_error() {
        for text in ["[alerts]\n", "[alerts]\nwebhook = \" \"\ntext = true\n"] {
            assert_eq!(
                error(text),
                "[alerts] has no webhook: set webhook = \"https://...\" (or RAMPGATE_ALERTS_WEBHOOK), or remove [alerts]"
            );
        }
        assert_eq!(
            error(&format!("[alerts]\nwebhook = {URL:?}\nqueue = 0\n")),
            "[alerts] queue must be positive"
        );
        let unknown = Config::from_toml(&format!("[alerts]\nwebhook = {URL:?}\nurl = 1\n"));
        assert!(matches!(unknown, Err(ConfigError::Parse { .. })));
        #[cfg(feature = "audit-webhook")]
        {
            assert_eq!(
                error("[alerts]\nwebhook = \"hooks.example.com/x\"\n"),
                "[alerts] webhook: audit sink: webhook URL: relative URL without a base"
            );
            let ftp = error("[alerts]\nwebhook = \"ftp://ana:s3cret@hooks.example.com/x\"\n");
            assert_eq!(
                ftp,
                "[alerts] webhook: audit sink: webhook URL ftp://hooks.example.com/x: only http and https are supported"
            );
        }
        #[cfg(not(feature = "audit-webhook"))]
        assert!(
            error(&format!("[alerts]\nwebhook = {URL:?}\n")).contains("`audit-webhook` feature"),
            "never a silent no-op"
        );
    }

    #[tokio::test]
    async fn the_environment_names_the_webhook_and_keeps_the_tables_settings() {
        let env = |name: &str| (name == "RAMPGATE_ALERTS_WEBHOOK").then(|| URL.to_owned());
        let config = Config::from_toml("[alerts]\ntext = true\nqueue = 8\n")
            .unwrap()
            .apply_env(env)
            .unwrap();
        let expected = AlertSettings {
            webhook: Some(URL.into()),
            text: true,
            queue: Some(8),
            retries: None,
        };
        assert_eq!(config.alerts.as_ref(), Some(&expected));
        #[cfg(feature = "audit-webhook")]
        assert!(config.auditor().is_ok());
        // Alone, the variable makes the table.
        let config = Config::default().apply_env(env).unwrap();
        assert_eq!(config.alerts.and_then(|a| a.webhook).as_deref(), Some(URL));
    }
}
