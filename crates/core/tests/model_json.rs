//! The configuration model reads and writes the Genesys admin API's JSON, and validation names
//! the field at fault.

use beckon_core::model::{ActionMap, ActionTemplate, Catalog, JourneySegment};
use serde_json::{Value, json};

const SEGMENT: &str = "9a0e9a0e-2222-4b4b-8c8c-000000000002";
const TEMPLATE: &str = "7e0e9a0e-3333-4b4b-8c8c-000000000003";

fn map_json() -> Value {
    json!({
      "id": "5f1c2c8e-1111-4a3b-9c1d-000000000001",
      "version": 3,
      "isActive": true,
      "displayName": "Offer on pricing page",
      "triggerWithSegments": [SEGMENT],
      "triggerWithEventConditions": [],
      "pageUrlConditions": [ { "values": ["/pricing"], "operator": "containsAny" } ],
      "activation": { "type": "delay", "delayInSeconds": 10 },
      "weight": 2,
      "action": { "mediaType": "contentOffer", "actionTemplate": { "id": TEMPLATE } },
      "ignoreFrequencyCap": false,
      "selfUri": "/api/v2/journey/actionmaps/5f1c2c8e-1111-4a3b-9c1d-000000000001",
      "createdDate": "2024-05-01T12:00:00.000Z",
      "modifiedDate": "2024-05-02T08:30:00.000Z",
      "startDate": "2024-05-01T12:00:00.000Z"
    })
}

fn segment_json() -> Value {
    json!({
      "id": SEGMENT, "isActive": true, "displayName": "Mobile UK visitors on pricing", "version": 1,
      "description": "…", "color": "#008000", "scope": "Session", "shouldDisplayToAgent": true,
      "context": { "patterns": [ { "criteria": [
        { "key": "device.category", "values": ["mobile"], "shouldIgnoreCase": true, "operator": "equal", "entityType": "visit" },
        { "key": "geolocation.countryName", "values": ["United Kingdom"], "shouldIgnoreCase": true, "operator": "containsAny", "entityType": "visit" } ] } ] },
      "journey": { "patterns": [ { "criteria": [
        { "key": "page.url", "values": ["/pricing"], "shouldIgnoreCase": true, "operator": "containsAny" } ],
        "count": 2, "streamType": "Web", "sessionType": "web", "eventName": "page_viewed" } ] },
      "assignmentExpirationDays": 30,
      "selfUri": "/api/v2/journey/segments/9a0e9a0e-2222-4b4b-8c8c-000000000002",
      "createdDate": "2024-05-01T12:00:00.000Z", "modifiedDate": "2024-05-01T12:00:00.000Z"
    })
}

fn template_json() -> Value {
    json!({
      "id": TEMPLATE, "name": "Spring promo", "description": "Toast with CTA", "version": 1,
      "mediaType": "contentOffer", "state": "Active",
      "contentOffer": {
        "imageUrl": "https://example.com/promo.png", "imageAltText": "Promo",
        "displayMode": "Toast", "layoutMode": "LeftText",
        "title": "Spring sale", "headline": "20% off", "body": "Today only.",
        "callToAction": { "text": "Shop now", "url": "https://example.com/sale", "target": "Blank" },
        "style": {
          "position": { "bottom": "10px", "right": "10px" },
          "offer": { "padding": "10px", "color": "#000000", "backgroundColor": "#FFFFFF" },
          "closeButton": { "color": "#000000", "opacity": 0.8 },
          "ctaButton": { "color": "#FFFFFF", "font": "Helvetica", "fontSize": "12", "textAlign": "Center", "backgroundColor": "#FF0000" },
          "title": { "color": "#000000", "font": "Helvetica", "fontSize": "16", "textAlign": "Left" },
          "headline": { "textAlign": "Left" }, "body": { "textAlign": "Left" }
        }
      },
      "selfUri": "/api/v2/journey/actiontemplates/7e0e9a0e-3333-4b4b-8c8c-000000000003",
      "createdDate": "2024-05-01T12:00:00.000Z", "modifiedDate": "2024-05-01T12:00:00.000Z"
    })
}

#[test]
fn genesys_examples_round_trip() {
    for v in [map_json(), segment_json(), template_json()] {
        let back = if v.get("action").is_some() {
            serde_json::to_value(serde_json::from_value::<ActionMap>(v.clone()).unwrap())
        } else if v.get("contentOffer").is_some() {
            serde_json::to_value(serde_json::from_value::<ActionTemplate>(v.clone()).unwrap())
        } else {
            serde_json::to_value(serde_json::from_value::<JourneySegment>(v.clone()).unwrap())
        }
        .unwrap();
        assert_eq!(back, v);
    }
}

fn build(map: Value) -> Result<Catalog, Vec<(String, String)>> {
    Catalog::build(
        vec![serde_json::from_value(map).unwrap()],
        vec![serde_json::from_value(segment_json()).unwrap()],
        vec![serde_json::from_value(template_json()).unwrap()],
        vec![],
    )
    .map_err(|errs| errs.into_iter().map(|e| (e.field, e.reason)).collect())
}

#[test]
fn the_examples_are_valid() {
    build(map_json()).unwrap();
}

#[test]
fn validation_names_the_field() {
    let mut m = map_json();
    m["action"] = json!({ "mediaType": "webMessagingOffer", "webMessagingOfferFields": { "offerText": "hi" } });
    m["pageUrlConditions"] = json!([
        { "values": ["https://a.example/x", "example.com/y"], "operator": "startsWith" },
        { "values": ["a"], "operator": "contains" }
    ]);
    m["weight"] = json!(7);
    m["endDate"] = json!("2024-01-01T00:00:00.000Z");
    m["triggerWithSegments"] = json!(["00000000-0000-4000-8000-000000000009"]);
    // Unsupported values still round-trip unchanged.
    let parsed: ActionMap = serde_json::from_value(m.clone()).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), m);
    let errors = build(m).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "actionMaps[0].pageUrlConditions[0].values[1]",
            "actionMaps[0].pageUrlConditions[1].operator",
            "actionMaps[0].weight",
            "actionMaps[0].action.mediaType",
            "actionMaps[0].endDate",
            "actionMaps[0].triggerWithSegments[0]",
        ],
        "{errors:#?}"
    );
    assert!(errors[3].1.contains("webMessagingOffer"), "{}", errors[3].1);
    assert!(errors[3].1.contains("does not support"), "{}", errors[3].1);
    assert!(errors[1].1.contains("containsAll"), "{}", errors[1].1);
}

#[test]
fn a_layout_with_an_image_needs_an_image_url() {
    let template = |layout: &str, image_url: Option<&str>| {
        let mut t = template_json();
        t["contentOffer"]["layoutMode"] = json!(layout);
        match image_url {
            Some(u) => t["contentOffer"]["imageUrl"] = json!(u),
            None => {
                t["contentOffer"]
                    .as_object_mut()
                    .unwrap()
                    .remove("imageUrl");
            }
        }
        serde_json::from_value::<ActionTemplate>(t)
            .unwrap()
            .validate()
    };
    for layout in [
        "ImageOnly",
        "LeftText",
        "RightText",
        "TopText",
        "BottomText",
    ] {
        for missing in [None, Some(""), Some("  ")] {
            let errors = template(layout, missing);
            assert_eq!(errors.len(), 1, "{layout} {missing:?}: {errors:?}");
            assert_eq!(errors[0].field, "contentOffer.imageUrl");
            assert!(errors[0].reason.contains(layout), "{}", errors[0].reason);
            assert!(
                errors[0].reason.contains("required"),
                "{}",
                errors[0].reason
            );
        }
        assert_eq!(template(layout, Some("/promo.png")), []);
    }
    // TextOnly shows no image; an unknown layout is refused for its layoutMode alone.
    assert_eq!(template("TextOnly", None), []);
    let errors = template("Sideways", None);
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["contentOffer.layoutMode"]);
}

#[test]
fn content_offer_links_and_images_are_http_or_https_only() {
    let template = |image: &str, link: &str| {
        let mut t = template_json();
        t["contentOffer"]["imageUrl"] = json!(image);
        t["contentOffer"]["callToAction"]["url"] = json!(link);
        serde_json::from_value::<ActionTemplate>(t)
            .unwrap()
            .validate()
    };
    let web = "https://example.com/sale";
    for image in [
        "https://cdn.example/a.png",
        "http://cdn.example/a.png",
        "/a.png",
        "a.png",
        "//cdn.example/a.png",
    ] {
        assert_eq!(template(image, web), [], "{image}");
    }
    for bad in [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
    ] {
        let errors = template(bad, web);
        assert_eq!(errors.len(), 1, "{bad}: {errors:?}");
        assert_eq!(errors[0].field, "contentOffer.imageUrl");
        assert!(
            errors[0].reason.contains("http or https"),
            "{}",
            errors[0].reason
        );
        let errors = template("/a.png", bad);
        assert_eq!(errors.len(), 1, "{bad}: {errors:?}");
        assert_eq!(errors[0].field, "contentOffer.callToAction.url");
        assert!(
            errors[0].reason.contains("http or https"),
            "{}",
            errors[0].reason
        );
    }
    // A link is still absolute.
    let errors = template("/a.png", "/sale");
    assert_eq!(errors[0].field, "contentOffer.callToAction.url");
    assert!(
        errors[0].reason.contains("absolute"),
        "{}",
        errors[0].reason
    );
}
