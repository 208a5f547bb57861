//! Actions obtained the way a page obtains them: the server records `qualified` itself when its
//! decision qualifies an action map (spec 3.1, 3.2), and refuses it from clients. A test that
//! needs an action to report states for provisions a map of its own through the admin API
//! ([`Server::qualifying_map`]), sends a page view that qualifies it ([`Server::qualify`]), and
//! reads the `qualified` record's `actionId` from the log.

use std::collections::HashMap;

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Action, ORIGIN, Server, page_viewed, template_body, webchat_map};

/// An action map of the test's own, qualified by a page view of its page and by nothing else.
#[derive(Clone, Debug)]
pub struct QualifyingMap {
    pub id: Uuid,
    pub name: String,
    pub media: &'static str,
    page: String,
}

impl Server {
    /// A new customer's action of `media` (`webchat` or `contentoffer`) in state `qualified`,
    /// of a map of its own.
    pub async fn qualified(&self, media: &'static str) -> Action {
        self.qualified_for(media, Uuid::new_v4()).await
    }

    /// An action of `media` for `customer_id` in state `qualified`, of a map of its own.
    pub async fn qualified_for(&self, media: &'static str, customer_id: Uuid) -> Action {
        let map = self.qualifying_map(media).await;
        self.qualify(&map, customer_id).await
    }

    /// `n` actions of `media` in state `qualified`, each of a new customer, all of one new map:
    /// page views sent in batches, so a test can take its actions before it starts measuring or
    /// breaking something.
    pub async fn qualified_many(&self, media: &'static str, n: usize) -> Vec<Action> {
        let map = self.qualifying_map(media).await;
        let customers = (0..n).map(|_| Uuid::new_v4()).collect();
        self.page_views(&map, customers).await
    }

    /// Creates an active map of `media` (no pacing, no frequency cap) triggered by a page view
    /// of a page no other map names.
    pub async fn qualifying_map(&self, media: &'static str) -> QualifyingMap {
        let page = format!("/qualify/{}", Uuid::new_v4());
        let name = format!("Qualify {page}");
        let mut map = webchat_map(&name, &page, false);
        map["ignoreFrequencyCap"] = json!(true);
        if media == "contentoffer" {
            let (status, template) = self
                .admin(
                    "POST",
                    "/api/v2/journey/actiontemplates",
                    Some(&template_body(&format!("Offer {page}"))),
                )
                .await;
            assert_eq!(status, 200, "{template}");
            map["action"] = json!({ "mediaType": "contentOffer",
                "actionTemplate": { "id": template["id"] } });
        }
        let (status, map) = self
            .admin("POST", "/api/v2/journey/actionmaps", Some(&map))
            .await;
        assert_eq!(status, 200, "{map}");
        QualifyingMap {
            id: uuid(&map["id"]),
            name,
            media,
            page,
        }
    }

    /// A page view of `map`'s page by `customer_id` in a new session: the action it qualified.
    pub async fn qualify(&self, map: &QualifyingMap, customer_id: Uuid) -> Action {
        let mut actions = self.page_views(map, vec![customer_id]).await;
        actions.pop().expect("one page view, one action")
    }

    /// A page view of `map`'s page by each of `customers`, each in a new session (sent in
    /// batches): the actions they qualified, in the same order.
    async fn page_views(&self, map: &QualifyingMap, customers: Vec<Uuid>) -> Vec<Action> {
        let url = format!("{ORIGIN}{}", map.page);
        let visits: Vec<(Uuid, Uuid)> =
            customers.into_iter().map(|c| (c, Uuid::new_v4())).collect();
        for chunk in visits.chunks(100) {
            let views: Vec<Value> = chunk
                .iter()
                .map(|(customer, session)| page_viewed(*customer, *session, &url))
                .collect();
            self.actions(&json!(views)).await;
        }
        let records = self.log(&format!("&topic={}:qualified", map.media)).await;
        // Each session's action of this map, looked up once per visit: a round of the crash test
        // qualifies thousands.
        let map_id = map.id.to_string();
        let by_session: HashMap<&str, &Value> = records
            .iter()
            .filter(|r| r["event"]["actionMapId"] == map_id.as_str())
            .filter_map(|r| Some((r["event"]["sessionId"].as_str()?, &r["event"]["actionId"])))
            .collect();
        visits
            .into_iter()
            .map(|(customer_id, session_id)| {
                let action_id = by_session
                    .get(session_id.to_string().as_str())
                    .expect("each page view qualified the map");
                Action {
                    action_id: uuid(action_id),
                    media: map.media,
                    map_id: map.id,
                    customer_id,
                    session_id,
                }
            })
            .collect()
    }
}

fn uuid(value: &Value) -> Uuid {
    value.as_str().expect("a string").parse().expect("a UUID")
}
