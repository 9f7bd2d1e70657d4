//! A supervised device (what `serve` puts behind a driver host): while its supervisor says it
//! is restarting, ScannerStatus reads Testing with the reason, a new job gets 503 with
//! Retry-After, and the other devices of the same server are not affected; a device's own
//! transfer options (watchdog) apply to its jobs only.

mod common;

use axum::http::StatusCode;
use common::*;
use scanwire_core::transfer::{share, TransferOptions};
use scanwire_escl::ScannerState;
use scanwire_server::{DeviceHealth, Health, ServedDevice, ServerConfig, ServerState};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A supervisor whose answer the test sets.
#[derive(Default)]
struct Switch(Mutex<Option<(String, Duration)>>);

impl DeviceHealth for Switch {
    fn health(&self) -> Health {
        match &*self.0.lock().unwrap() {
            None => Health::Ready,
            Some((reason, ready_in)) => Health::Restarting {
                reason: reason.clone(),
                ready_in: *ready_in,
            },
        }
    }
}

fn app(switch: Arc<Switch>, watchdog: Option<Duration>) -> axum::Router {
    let a = ServedDevice::new(
        "virtual",
        share(Box::new(scanwire_virtual::VirtualDevice::new())),
    )
    .with_health(switch)
    .with_transfer(TransferOptions {
        watchdog,
        ..TransferOptions::default()
    });
    let b = ServedDevice::new(
        "other",
        share(Box::new(scanwire_virtual::VirtualDevice::new())),
    );
    let state = ServerState::served(ServerConfig::default(), vec![a, b]).expect("state");
    scanwire_server::router(state)
}

#[tokio::test]
async fn a_restarting_device_says_so_and_refuses_jobs_with_retry_after() {
    let switch = Arc::new(Switch::default());
    let app = app(switch.clone(), None);
    let xml = || settings_xml("Platen", "Grayscale8", 75, "image/png", None);

    assert_eq!(
        status(&app, "/eSCL/virtual").await.state,
        ScannerState::Idle
    );
    *switch.0.lock().unwrap() = Some((
        "driver crashed: SIGSEGV in sane_start; restarting in 2.5 s".into(),
        Duration::from_millis(2500),
    ));

    let r = get(&app, "/eSCL/virtual/ScannerStatus").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        reason(&r),
        "driver crashed: SIGSEGV in sane_start; restarting in 2.5 s"
    );
    let st = <scanwire_escl::ScannerStatus as scanwire_escl::Document>::from_xml(&bytes(r).await)
        .unwrap();
    assert_eq!(st.state, ScannerState::Testing);

    let r = post(&app, "/eSCL/virtual/ScanJobs", "text/xml", xml()).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "3", "rounded up");
    assert!(
        reason(&r).starts_with("driver crashed: SIGSEGV"),
        "{}",
        reason(&r)
    );

    // The other device of the same server works meanwhile.
    assert_eq!(status(&app, "/eSCL/other").await.state, ScannerState::Idle);
    let job = create(&app, "/eSCL/other", xml()).await;
    let r = get(&app, &format!("{job}/NextDocument")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(bytes(r).await.starts_with(b"\x89PNG"));

    // Back: Idle, no reason, jobs work.
    *switch.0.lock().unwrap() = None;
    let r = get(&app, "/eSCL/virtual/ScannerStatus").await;
    assert_eq!(reason(&r), "");
    let st = <scanwire_escl::ScannerStatus as scanwire_escl::Document>::from_xml(&bytes(r).await)
        .unwrap();
    assert_eq!(st.state, ScannerState::Idle);
    let job = create(&app, "/eSCL/virtual", xml()).await;
    let r = get(&app, &format!("{job}/NextDocument")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(bytes(r).await.starts_with(b"\x89PNG"));
}

/// The device's own watchdog ends its hung job: the server-wide one (120 s) would not.
#[tokio::test]
async fn a_devices_own_watchdog_applies_to_its_jobs() {
    let switch = Arc::new(Switch::default());
    let a = ServedDevice::new(
        "virtual",
        share(Box::new(scanwire_virtual::VirtualDevice::new())),
    )
    .with_health(switch)
    .with_transfer(TransferOptions {
        watchdog: Some(Duration::from_millis(300)),
        ..TransferOptions::default()
    });
    let config = ServerConfig {
        request_options: [("hang-at-page".to_string(), "1".to_string())].into(),
        ..ServerConfig::default()
    };
    let app = scanwire_server::router(ServerState::served(config, vec![a]).expect("state"));
    let job = create(
        &app,
        "/eSCL/virtual",
        settings_xml("Feeder", "Grayscale8", 75, "image/png", None),
    )
    .await;
    let t = std::time::Instant::now();
    let r = get(&app, &format!("{job}/NextDocument")).await;
    // The page started, then the driver hung: its body is cut off, or the job's failure.
    if r.status() == StatusCode::OK {
        let _ = axum::body::to_bytes(r.into_body(), usize::MAX).await;
    }
    let r = get(&app, &format!("{job}/NextDocument")).await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        reason(&r).contains("no progress for 0.3 s"),
        "{}",
        reason(&r)
    );
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
}
