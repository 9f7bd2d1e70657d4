//! The queue's streams and buckets on a real 3-node cluster: set up twice, a page published
//! and found, the byte limit.

use scanwire_codecs::EncodeOptions;
use scanwire_imaging::Processing;
use scanwire_queue::wire::sha256_hex;
use scanwire_queue::{
    ImageEncoding, ImageRef, JobSettings, OutputSettings, PageCount, PageMessage, PixelSetting,
    ProcessingSettings, Queue, QueueConfig, QueueError, SideSetting, VERSION,
};
use scanwire_testkit::nats::NatsCluster;

fn page(job: &str, n: u32, data: &[u8], width: u32) -> PageMessage {
    PageMessage {
        version: VERSION,
        job: job.into(),
        document: 1,
        name: "scan".into(),
        page: n,
        pages: PageCount::OPEN,
        settings: JobSettings {
            processing: ProcessingSettings::from(&Processing::default()),
            ocr: None,
            output: OutputSettings::pdf(&EncodeOptions::default(), 1_700_000_000),
        },
        image: ImageRef {
            object: format!("{job}/1/{n}"),
            size: data.len() as u64,
            sha256: sha256_hex(data),
            encoding: ImageEncoding::Raw,
            pixel: PixelSetting::Gray8,
            width,
            height: data.len() as u32 / width,
            dpi: (100, 100),
            sheet: n,
            side: SideSetting::Front,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_is_idempotent_and_pages_land() {
    let Some(cluster) = NatsCluster::start(3) else {
        return;
    };
    let config = QueueConfig {
        replicas: 3,
        max_bytes: 100_000,
    };
    let q = Queue::connect(&cluster.url(), "test", &config)
        .await
        .unwrap();
    // A second client sets up the same queue: nothing changes, nothing fails.
    let q2 = Queue::connect(&cluster.url(), "test2", &config)
        .await
        .unwrap();
    q.start_job("j1").await.unwrap();
    let data = vec![200u8; 40_000];
    q.publish_page(&page("j1", 1, &data, 200), &data)
        .await
        .unwrap();
    assert_eq!(q2.pages_waiting("j1").await.unwrap(), 1);
    let back = q2.read_object(&q2.buckets().pages, "j1/1/1").await.unwrap();
    assert_eq!(back.as_deref(), Some(&data[..]));
    // The same page again (a retried publish) is still one message.
    q.publish_page(&page("j1", 1, &data, 200), &data)
        .await
        .unwrap();
    assert_eq!(q2.pages_waiting("j1").await.unwrap(), 1);
    q.publish_page(&page("j1", 2, &data, 200), &data)
        .await
        .unwrap();
    // The third does not fit under 100 000 bytes: Full, and nothing was written.
    let e = q
        .publish_page(&page("j1", 3, &data, 200), &data)
        .await
        .unwrap_err();
    assert!(matches!(e, QueueError::Full { limit: 100_000, .. }), "{e}");
    assert!(e.to_string().contains("waiting for workers"), "{e}");
    assert_eq!(q2.pages_waiting("j1").await.unwrap(), 2);
    // A message that does not describe its image is refused before anything is written.
    let e = q
        .publish_page(&page("j1", 4, &data, 200), &data[1..])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("image.size"), "{e}");
    assert_eq!(
        q.job("j1").await.unwrap().unwrap().state,
        scanwire_queue::JobPhase::Open
    );
}
